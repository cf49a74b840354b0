package org.resnet4j.data.dense;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.resnet4j.data.ColorJitter;
import org.resnet4j.data.Resize;
import org.resnet4j.data.SyntheticScenes;
import org.resnet4j.tensor.Tensor;

class DenseTransformsTest {
    private static final SyntheticScenes SCENES = new SyntheticScenes(24, 21, 64, 6);

    /** The tight box {x0, y0, x1, y1} of the mask pixels equal to {@code value}, or null when there are none. */
    private static float[] maskBox(DenseTarget t, int value) {
        int w = t.width(), x0 = Integer.MAX_VALUE, y0 = Integer.MAX_VALUE, x1 = -1, y1 = -1;
        for (int p = 0; p < t.semantic().length; p++) {
            if (t.semantic()[p] != value) continue;
            x0 = Math.min(x0, p % w);
            y0 = Math.min(y0, p / w);
            x1 = Math.max(x1, p % w);
            y1 = Math.max(y1, p / w);
        }
        return x1 < 0 ? null : new float[] {x0, y0, x1 + 1, y1 + 1};
    }

    /** A scene with one object, so its box must stay the box of its mask's pixels. */
    private static DenseExample single() {
        for (int i = 0; i < SCENES.size(); i++) {
            DenseExample e = new SceneDataset(SCENES).get(i);
            if (e.target().count() == 1) return e;
        }
        throw new AssertionError("no single-object scene");
    }

    @Test
    void flippingMovesBoxesWithTheMaskAndTwiceIsTheIdentity() {
        for (int i = 0; i < SCENES.size(); i++) {
            DenseExample e = new SceneDataset(SCENES).get(i), f = DenseTransforms.flip(e);
            for (int k = 0; k < f.target().count(); k++) {
                float[] o = e.target().box(k);
                assertArrayEquals(new float[] {64 - o[2], o[1], 64 - o[0], o[3]}, f.target().box(k));
            }
            DenseExample back = DenseTransforms.flip(f);
            assertArrayEquals(e.image().data(), back.image().data());
            assertArrayEquals(e.target().semantic(), back.target().semantic());
            assertArrayEquals(e.target().boxes(), back.target().boxes());
        }
        DenseExample single = single(), flipped = DenseTransforms.flip(single);
        assertArrayEquals(maskBox(flipped.target(), single.target().labels()[0] + 1), flipped.target().box(0), "box and mask moved together");
        SplittableRandom rng = new SplittableRandom(1);
        DenseExample e = new SceneDataset(SCENES).get(0);
        assertEquals(e, DenseTransforms.horizontalFlip(0).apply(e, rng), "p = 0 never flips");
        assertArrayEquals(DenseTransforms.flip(e).image().data(), DenseTransforms.horizontalFlip(1).apply(e, rng).image().data());
    }

    @Test
    void resizingScalesBoxesAndKeepsMaskValues() {
        DenseExample e = single();
        DenseExample r = DenseTransforms.resize(96, 160).apply(e, new SplittableRandom(0));
        assertArrayEquals(new int[] {3, 96, 160}, r.image().shape());
        float[] o = e.target().box(0), b = r.target().box(0);
        assertArrayEquals(new float[] {o[0] * 2.5f, o[1] * 1.5f, o[2] * 2.5f, o[3] * 1.5f}, b, 1e-4f);
        int label = e.target().labels()[0] + 1;
        float[] mb = maskBox(r.target(), label);
        for (int k = 0; k < 4; k++) assertEquals(b[k], mb[k], 2.5f, "the resized mask's extent follows the box (nearest, within a source pixel)");
        for (int v : r.target().semantic()) assertTrue(v == 0 || v == label, "nearest keeps class values: " + v);
        SplittableRandom rng = new SplittableRandom(3);
        for (int k = 0; k < 20; k++) {
            DenseExample s = DenseTransforms.randomShorterSide(40, 48).apply(e, rng);
            assertTrue(s.image().dim(1) >= 40 && s.image().dim(1) <= 48 && s.image().dim(1) == s.image().dim(2), s.image().shapeString());
            DenseExample j = DenseTransforms.scaleJitter(128, 128, 0.5, 2.0).apply(e, rng);
            assertTrue(j.image().dim(1) >= 64 && j.image().dim(1) <= 256, j.image().shapeString());
        }
        assertArrayEquals(new int[] {0, 0, 1, 1, 2, 2}, DenseTransforms.nearest(3, 6), "PIL's nearest at pixel centres");
        assertArrayEquals(new int[] {1, 3, 5}, DenseTransforms.nearest(6, 3), "halving takes each pair's second pixel, as PIL");
    }

    @Test
    void croppingClipsBoxesDropsTheEmptiedAndPadsTheMaskWithIgnore() {
        float[] boxes = {2, 2, 10, 10, 20, 20, 40, 30, 40, 5, 60, 15};
        DenseExample e = new DenseExample(Tensor.uniform(1, 0, 1, 3, 64, 64),
                new DenseTarget(boxes, new int[] {1, 2, 3}, new boolean[] {false, true, false}, new int[64 * 64], 64, 64));
        DenseExample c = DenseTransforms.crop(e, 8, 16, 32, 32);
        assertArrayEquals(new int[] {2, 3}, c.target().labels(), "the first box lies outside the window");
        assertArrayEquals(new boolean[] {true, false}, c.target().crowd());
        assertArrayEquals(new float[] {4, 12, 24, 22, 24, 0, 32, 7}, c.target().boxes(), "shifted by the window and clipped to it");
        DenseExample corner = DenseTransforms.crop(e, 0, 32, 32, 32);
        assertArrayEquals(new int[] {2, 3}, corner.target().labels(), "a box clipped to a sliver of area is kept");
        assertEquals(e.image().data()[8 * 64 + 16], c.image().data()[0]);
        DenseExample p = DenseTransforms.crop(e, 48, 48, 32, 32);
        assertEquals(0f, p.image().data()[31 * 32 + 31]);
        assertEquals(DenseTarget.IGNORE, p.target().semantic()[31 * 32 + 31]);
        assertEquals(0, p.target().semantic()[0]);
        DenseExample small = DenseTransforms.randomCrop(80, 80).apply(e, new SplittableRandom(2));
        assertArrayEquals(new int[] {3, 80, 80}, small.image().shape(), "smaller images are padded up to the window");
    }

    @Test
    void imageOnlyTransformsLeaveTheTargetAndRefuseToResize() {
        DenseExample e = single();
        DenseExample j = DenseTransforms.imageOnly(new ColorJitter(0.4, 0.4, 0.4, 0.1)).apply(e, new SplittableRandom(5));
        assertEquals(e.target(), j.target());
        assertFalse(java.util.Arrays.equals(e.image().data(), j.image().data()));
        var err = assertThrows(IllegalStateException.class, () -> DenseTransforms.imageOnly(new Resize(32)).apply(e, new SplittableRandom(0)));
        assertTrue(err.getMessage().contains("changed the image's size"), err.getMessage());
        DenseTransform chain = DenseTransforms.horizontalFlip(0.5).then(DenseTransforms.randomCrop(48, 48));
        assertArrayEquals(new int[] {3, 48, 48}, chain.apply(e, new SplittableRandom(9)).image().shape());
    }

    @Test
    void badTargetsAreRefusedNamingTheValue() {
        var e = assertThrows(IllegalArgumentException.class, () -> DenseTarget.boxes(new float[] {5, 0, 1, 4}, new int[] {0}, 10, 10));
        assertTrue(e.getMessage().contains("box 0") && e.getMessage().contains("[5.0, 0.0, 1.0, 4.0]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DenseTarget.boxes(new float[] {0, 0, 1}, new int[] {0}, 10, 10));
        assertThrows(IllegalArgumentException.class, () -> DenseTarget.boxes(new float[] {0, 0, 1, 1}, new int[] {0, 1}, 10, 10));
        assertThrows(IllegalArgumentException.class, () -> DenseTarget.mask(new int[99], 10, 10));
        assertThrows(IllegalArgumentException.class, () -> new DenseExample(Tensor.zeros(3, 8, 8), DenseTarget.mask(new int[100], 10, 10)));
    }
}
