package org.resnet4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.resnet4j.tensor.Tensor;

class TransformsTest {
    /** [c, h, w] with values 0, 1, 2, ... */
    static Tensor ramp(int c, int h, int w) {
        float[] d = new float[c * h * w];
        for (int i = 0; i < d.length; i++) d[i] = i;
        return Tensor.of(d, c, h, w);
    }

    /** A 3 x h x w image with every pixel the given colour. */
    static Tensor solid(int h, int w, float r, float g, float b) {
        float[] d = new float[3 * h * w];
        Arrays.fill(d, 0, h * w, r);
        Arrays.fill(d, h * w, 2 * h * w, g);
        Arrays.fill(d, 2 * h * w, 3 * h * w, b);
        return Tensor.of(d, 3, h, w);
    }

    static Tensor random01(long seed, int c, int h, int w) {
        return Tensor.uniform(seed, 0f, 1f, c, h, w);
    }

    @Test
    void horizontalFlipMirrorsRows() {
        Tensor x = ramp(2, 2, 3);
        float[] expected = {2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9};
        assertArrayEquals(expected, RandomHorizontalFlip.hflip(x).data(), 0f);
        assertArrayEquals(expected, new RandomHorizontalFlip(1.0).apply(x, new SplittableRandom(1)).data(), 0f);
        assertArrayEquals(x.data(), new RandomHorizontalFlip(0.0).apply(x, new SplittableRandom(1)).data(), 0f);
        assertArrayEquals(ramp(2, 2, 3).data(), x.data(), 0f); // input untouched
        // p = 0.5 flips exactly when the first draw is below 0.5.
        for (long seed = 0; seed < 20; seed++) {
            boolean flip = new SplittableRandom(seed).nextDouble() < 0.5;
            Tensor y = new RandomHorizontalFlip().apply(x, new SplittableRandom(seed));
            assertArrayEquals(flip ? expected : x.data(), y.data(), 0f);
        }
    }

    @Test
    void randomCropOffsetsComeFromTheRngOverAZeroPaddedImage() {
        Tensor x = ramp(2, 3, 4);
        RandomCrop crop = new RandomCrop(2, 3, 1);
        for (long seed = 0; seed < 40; seed++) {
            SplittableRandom replay = new SplittableRandom(seed);
            int top = replay.nextInt(5 - 2 + 1); // padded 5 x 6
            int left = replay.nextInt(6 - 3 + 1);
            Tensor y = crop.apply(x, new SplittableRandom(seed));
            assertArrayEquals(new int[] {2, 2, 3}, y.shape());
            for (int c = 0; c < 2; c++) {
                for (int i = 0; i < 2; i++) {
                    for (int j = 0; j < 3; j++) {
                        int sy = top + i - 1;
                        int sx = left + j - 1;
                        float want = sy < 0 || sy >= 3 || sx < 0 || sx >= 4 ? 0f : x.get(c, sy, sx);
                        assertEquals(want, y.get(c, i, j), 0f, "seed " + seed);
                    }
                }
            }
        }
        // Offset (0, 0) of the padded image: the first row and column are padding.
        Tensor corner = null;
        for (long seed = 0; corner == null; seed++) {
            SplittableRandom replay = new SplittableRandom(seed);
            if (replay.nextInt(4) == 0 && replay.nextInt(4) == 0) corner = crop.apply(x, new SplittableRandom(seed));
        }
        assertArrayEquals(new float[] {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 12, 13}, corner.data(), 0f);
        // Same size, no padding: nothing to choose.
        assertArrayEquals(x.data(), new RandomCrop(3, 4, 0).apply(x, new SplittableRandom(3)).data(), 0f);
        assertThrows(IllegalArgumentException.class, () -> new RandomCrop(6, 0).apply(x, new SplittableRandom(1)));
    }

    @Test
    void centerCropRoundsHalfToEvenAndPads() {
        Tensor x = ramp(1, 4, 5);
        // top = round(1.0) = 1, left = round(1.0) = 1
        assertArrayEquals(new float[] {6, 7, 8, 11, 12, 13}, new CenterCrop(2, 3).apply(x, null).data(), 0f);
        // 5 -> 2: (5 - 2) / 2 = 1.5 rounds to 2, as Python's round
        Tensor y = ramp(1, 5, 5);
        assertArrayEquals(new float[] {12, 13, 17, 18}, new CenterCrop(2).apply(y, null).data(), 0f);
        // 7 -> 2: 2.5 rounds to 2
        assertArrayEquals(new float[] {16, 17, 23, 24}, new CenterCrop(2).apply(ramp(1, 7, 7), null).data(), 0f);
        // Larger than the image: zero padding, (4 - 2) // 2 = 1 on top/left.
        Tensor p = new CenterCrop(4).apply(ramp(1, 2, 2), null);
        assertArrayEquals(new float[] {0, 0, 0, 0, 0, 0, 1, 0, 0, 2, 3, 0, 0, 0, 0, 0}, p.data(), 0f);
    }

    @Test
    void normalizeArithmetic() {
        Tensor x = Tensor.of(new float[] {0f, 1f, 0.25f, 0.75f}, 2, 1, 2);
        Normalize n = new Normalize(new float[] {0.5f, 0.25f}, new float[] {0.5f, 2f});
        assertArrayEquals(new float[] {-1f, 1f, 0f, 0.25f}, n.apply(x, null).data(), 0f);
        Tensor img = Tensor.of(new float[] {0.3f, 0.6f, 0.9f}, 3, 1, 1);
        float[] got = Normalize.imagenet().apply(img, null).data();
        assertEquals((0.3f - 0.485f) / 0.229f, got[0], 0f);
        assertEquals((0.6f - 0.456f) / 0.224f, got[1], 0f);
        assertEquals((0.9f - 0.406f) / 0.225f, got[2], 0f);
        assertThrows(IllegalArgumentException.class, () -> n.apply(ramp(3, 1, 1), null));
        assertThrows(IllegalArgumentException.class, () -> new Normalize(new float[] {0}, new float[] {0}));
    }

    @Test
    void resizeBilinearMatchesPyTorch() {
        Tensor x = ramp(1, 4, 4);
        // Halving: source coordinates 0.5 and 2.5, each output the mean of a 2x2 block.
        assertArrayEquals(new float[] {2.5f, 4.5f, 10.5f, 12.5f}, new Resize(2, 2).antialias(false).apply(x, null).data(), 0f);
        // Doubling 0, 1 (the antialiased filter equals plain bilinear when enlarging): coordinates
        // -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped neighbour).
        Tensor up = Resize.resize(Tensor.of(new float[] {0f, 1f}, 1, 1, 2), 1, 4);
        assertArrayEquals(new float[] {0f, 0.25f, 0.75f, 1f}, up.data(), 0f);
        assertSame(x, new Resize(4, 4).apply(x, null));
        // Shorter side: 4x8 -> 2x4; 6x4 -> int(3 * 6 / 4) = 4 x 3; 3x5 -> 2 x int(2 * 5 / 3) = 3.
        assertArrayEquals(new int[] {2, 4}, new Resize(2).outputSize(4, 8));
        assertArrayEquals(new int[] {4, 3}, new Resize(3).outputSize(6, 4));
        assertArrayEquals(new int[] {2, 3}, new Resize(2).outputSize(3, 5));
        assertArrayEquals(new int[] {1, 2, 4}, new Resize(2).apply(ramp(1, 4, 8), null).shape());
    }

    @Test
    void antialiasedResizeMatchesPyTorchAndPil() throws Exception {
        // tools/make_resize_goldens.py: interpolate(antialias=True) in float32, and PIL's
        // BILINEAR resize on the uint8 image (bytes after each pass, so within 1/255 plus a step)
        var g = org.resnet4j.io.safetensors.SafeTensors.read(java.nio.file.Path.of("src/test/resources/goldens/resize_aa.safetensors")).tensors();
        Tensor x = g.get("input");
        int cases = 0;
        for (String k : g.keySet()) {
            if (!k.startsWith("torch_")) continue;
            String[] hw = k.substring(6).split("x");
            int h = Integer.parseInt(hw[0]), w = Integer.parseInt(hw[1]);
            Tensor ours = new Resize(h, w).apply(x, null);
            assertArrayEquals(new int[] {3, h, w}, ours.shape(), k);
            assertTrue(Tensor.maxAbsDiff(g.get(k), ours) < 2e-6f, k + ": " + Tensor.maxAbsDiff(g.get(k), ours));
            float pil = Tensor.maxAbsDiff(g.get("pil_" + h + "x" + w), ours);
            assertTrue(pil <= 1.5f / 255, k + " vs PIL: " + pil * 255 + " levels");
            cases++;
        }
        assertEquals(5, cases);
        // Without antialiasing, a 4x shrink samples 2 of every 16 pixels and misses PyTorch's filter
        Tensor plain = new Resize(9, 13).antialias(false).apply(x, null), aa = new Resize(9, 13).apply(x, null);
        assertTrue(Tensor.maxAbsDiff(plain, aa) > 0.05f);
        // identity when the size does not change
        assertArrayEquals(x.data(), Resize.resize(x, 37, 53).data(), 0f);
    }

    @Test
    void randomResizedCrop() {
        // The whole image at its own size is the identity.
        Tensor x = random01(4, 3, 5, 5);
        RandomResizedCrop whole = new RandomResizedCrop(5, 5, 1, 1, 1, 1);
        assertArrayEquals(x.data(), whole.apply(x, new SplittableRandom(1)).data(), 0f);
        // No square of area 20 fits a 2x10 image: after ten tries, the central crop clamped to ratio 1.
        assertArrayEquals(new int[] {0, 4, 2, 2}, new RandomResizedCrop(2, 2, 1, 1, 1, 1).params(2, 10, new SplittableRandom(7)));
        // torchvision's defaults: windows inside the image, areas within scale (up to rounding).
        RandomResizedCrop rrc = new RandomResizedCrop(8);
        for (long seed = 0; seed < 200; seed++) {
            int[] p = rrc.params(32, 32, new SplittableRandom(seed));
            assertTrue(p[0] >= 0 && p[1] >= 0 && p[0] + p[2] <= 32 && p[1] + p[3] <= 32, Arrays.toString(p));
            double frac = p[2] * p[3] / 1024.0;
            assertTrue(frac >= 0.06 && frac <= 1.0, Arrays.toString(p));
            double ratio = (double) p[3] / p[2];
            assertTrue(ratio >= 0.6 && ratio <= 1.6, Arrays.toString(p));
            // apply draws the same window
            Tensor y = rrc.apply(ramp(1, 32, 32), new SplittableRandom(seed));
            assertArrayEquals(new int[] {1, 8, 8}, y.shape());
            Tensor direct = Images.resizeAntialiased(ramp(1, 32, 32), p[0], p[1], p[2], p[3], 8, 8);
            assertArrayEquals(direct.data(), y.data(), 0f);
        }
        // A pure crop: when the window already has the output size, values are copied exactly.
        Tensor big = ramp(1, 6, 6);
        for (long seed = 0; seed < 20; seed++) {
            int[] p = new RandomResizedCrop(3, 3, 0.25, 0.25, 1, 1).params(6, 6, new SplittableRandom(seed));
            assertEquals(3, p[2]);
            Tensor y = new RandomResizedCrop(3, 3, 0.25, 0.25, 1, 1).apply(big, new SplittableRandom(seed));
            assertEquals(big.get(0, p[0], p[1]), y.get(0, 0, 0), 0f);
            assertEquals(big.get(0, p[0] + 2, p[1] + 2), y.get(0, 2, 2), 0f);
        }
    }

    @Test
    void colorJitterFunctionalForms() {
        Tensor x = random01(5, 3, 4, 4);
        assertArrayEquals(x.data(), ColorJitter.adjustBrightness(x, 1).data(), 0f);
        assertArrayEquals(x.data(), ColorJitter.adjustContrast(x, 1).data(), 0f);
        assertArrayEquals(x.data(), ColorJitter.adjustSaturation(x, 1).data(), 0f);
        assertArrayEquals(x.data(), ColorJitter.adjustHue(x, 0).data(), 1e-6f);
        assertArrayEquals(x.data(), new ColorJitter(0, 0, 0, 0).apply(x, new SplittableRandom(1)).data(), 0f);

        // Pure red shifted by a third of a turn is green, by minus a third blue.
        assertArrayEquals(solid(1, 2, 0, 1, 0).data(), ColorJitter.adjustHue(solid(1, 2, 1, 0, 0), 1.0 / 3).data(), 1e-6f);
        assertArrayEquals(solid(1, 2, 0, 0, 1).data(), ColorJitter.adjustHue(solid(1, 2, 1, 0, 0), -1.0 / 3).data(), 1e-6f);
        // Half a turn: orange (1, 0.5, 0) at hue 1/12 becomes azure (0, 0.5, 1).
        assertArrayEquals(solid(1, 1, 0, 0.5f, 1).data(), ColorJitter.adjustHue(solid(1, 1, 1, 0.5f, 0), 0.5).data(), 1e-6f);

        float[] half = ColorJitter.adjustBrightness(solid(1, 1, 0.8f, 0.4f, 0.2f), 0.5).data();
        assertArrayEquals(new float[] {0.4f, 0.2f, 0.1f}, half, 1e-7f);
        assertArrayEquals(new float[] {1f, 0.8f, 0.4f}, ColorJitter.adjustBrightness(solid(1, 1, 0.8f, 0.4f, 0.2f), 2).data(), 1e-7f);

        // Contrast 0: every value becomes the image's mean gray level.
        Tensor two = Tensor.of(new float[] {1, 0, 0, 1, 0, 0}, 3, 1, 2); // red, green
        float mean = (0.2989f + 0.587f) / 2;
        assertArrayEquals(new float[] {mean, mean, mean, mean, mean, mean}, ColorJitter.adjustContrast(two, 0).data(), 1e-6f);
        // Saturation 0: each pixel becomes its own gray level.
        assertArrayEquals(new float[] {0.2989f, 0.587f, 0.2989f, 0.587f, 0.2989f, 0.587f},
                ColorJitter.adjustSaturation(two, 0).data(), 1e-6f);
        // Saturation 2 pushes away from gray, clamped.
        assertArrayEquals(new float[] {1f, 0f, 0f, 1f, 0f, 0f}, ColorJitter.adjustSaturation(two, 2).data(), 1e-6f);

        Tensor gray = random01(6, 1, 3, 3);
        assertSame(gray, ColorJitter.adjustHue(gray, 0.3));
        assertSame(gray, ColorJitter.adjustSaturation(gray, 0.3));
        // On one channel brightness still applies: the fourth draw (after the order's three) is the factor.
        SplittableRandom replay = new SplittableRandom(0);
        for (int i = 3; i > 0; i--) replay.nextInt(i + 1);
        double factor = 0.5 + replay.nextDouble();
        assertArrayEquals(ColorJitter.adjustBrightness(gray, factor).data(),
                new ColorJitter(0.5, 0, 0, 0).apply(gray, new SplittableRandom(0)).data(), 0f);
    }

    @Test
    void colorJitterDrawsOrderThenFactors() {
        Tensor x = random01(8, 3, 4, 4);
        ColorJitter jitter = new ColorJitter(0.4, 0.4, 0.4, 0.1);
        for (long seed = 0; seed < 10; seed++) {
            SplittableRandom replay = new SplittableRandom(seed);
            int[] order = {0, 1, 2, 3};
            for (int i = 3; i > 0; i--) {
                int j = replay.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            double b = 0.6 + 0.8 * replay.nextDouble();
            double c = 0.6 + 0.8 * replay.nextDouble();
            double s = 0.6 + 0.8 * replay.nextDouble();
            double h = -0.1 + 0.2 * replay.nextDouble();
            Tensor want = x;
            for (int op : order) {
                want = switch (op) {
                    case 0 -> ColorJitter.adjustBrightness(want, b);
                    case 1 -> ColorJitter.adjustContrast(want, c);
                    case 2 -> ColorJitter.adjustSaturation(want, s);
                    default -> ColorJitter.adjustHue(want, h);
                };
            }
            Tensor got = jitter.apply(x, new SplittableRandom(seed));
            assertArrayEquals(want.data(), got.data(), 0f);
            assertTrue(Tensor.maxAbsDiff(x, got) > 0.01f);
            for (float v : got.data()) assertTrue(v >= 0 && v <= 1);
        }
        assertThrows(IllegalArgumentException.class, () -> new ColorJitter(0, 0, 0, 0.6));
    }

    @Test
    void randomErasing() {
        Tensor ones = Tensor.full(1f, 2, 8, 8);
        // scale 0.25, ratio 1: always a 4x4 square, at the drawn offset.
        RandomErasing square = new RandomErasing(1.0, 0.25, 0.25, 1, 1, new float[] {-1f, 5f});
        for (long seed = 0; seed < 20; seed++) {
            int[] p = square.params(8, 8, new SplittableRandom(seed));
            assertEquals(4, p[2]);
            assertEquals(4, p[3]);
            Tensor y = square.apply(ones, new SplittableRandom(seed));
            for (int c = 0; c < 2; c++) {
                for (int i = 0; i < 8; i++) {
                    for (int j = 0; j < 8; j++) {
                        boolean erased = i >= p[0] && i < p[0] + 4 && j >= p[1] && j < p[1] + 4;
                        assertEquals(erased ? (c == 0 ? -1f : 5f) : 1f, y.get(c, i, j), 0f);
                    }
                }
            }
        }
        assertSame(ones, new RandomErasing(0.0, 0.02, 0.33, 0.3, 3.3, 0f).apply(ones, new SplittableRandom(1)));
        // Erasing the whole image never fits (h < H required): nothing happens after ten tries.
        assertNull(new RandomErasing(1.0, 1, 1, 1, 1, 0f).params(8, 8, new SplittableRandom(1)));

        // Defaults: p = 0.5, so about half the images are touched, each with zeros only.
        int touched = 0;
        for (long seed = 0; seed < 400; seed++) {
            Tensor y = new RandomErasing().apply(ones, new SplittableRandom(seed));
            double zeros = 0;
            for (float v : y.data()) if (v == 0f) zeros++;
            if (zeros > 0) {
                touched++;
                double frac = zeros / ones.size();
                assertTrue(frac >= 0.01 && frac <= 0.45, "fraction " + frac);
            }
        }
        assertTrue(touched > 150 && touched < 250, "touched " + touched);

        Tensor noisy = RandomErasing.withNoise(1.0, 0.25, 0.25, 1, 1).apply(ones, new SplittableRandom(2));
        long distinct = Arrays.stream(box(noisy.data())).distinct().count();
        assertTrue(distinct > 20, "noise values " + distinct);
    }

    private static Float[] box(float[] a) {
        Float[] b = new Float[a.length];
        for (int i = 0; i < a.length; i++) b[i] = a[i];
        return b;
    }

    @Test
    void cutoutIsAClippedSquareAroundARandomPixel() {
        Tensor ones = Tensor.full(1f, 1, 8, 8);
        RandomErasing cutout = RandomErasing.cutout(4);
        int clipped = 0;
        for (long seed = 0; seed < 50; seed++) {
            SplittableRandom replay = new SplittableRandom(seed);
            int cy = replay.nextInt(8);
            int cx = replay.nextInt(8);
            Tensor y = cutout.apply(ones, new SplittableRandom(seed));
            int zeros = 0;
            for (int i = 0; i < 8; i++) {
                for (int j = 0; j < 8; j++) {
                    boolean erased = i >= cy - 2 && i < cy + 2 && j >= cx - 2 && j < cx + 2;
                    assertEquals(erased ? 0f : 1f, y.get(0, i, j), 0f);
                    if (erased) zeros++;
                }
            }
            if (zeros < 16) clipped++;
        }
        assertTrue(clipped > 0);
    }

    @Test
    void composeAppliesInOrderWithOneRng() {
        Tensor x = random01(3, 3, 6, 6);
        Transform t = new Compose(new RandomCrop(4, 1), new RandomHorizontalFlip(), Normalize.imagenet());
        SplittableRandom r = new SplittableRandom(9);
        Tensor want = Normalize.imagenet().apply(new RandomHorizontalFlip().apply(new RandomCrop(4, 1).apply(x, r), r), r);
        assertArrayEquals(want.data(), t.apply(x, new SplittableRandom(9)).data(), 0f);
        assertArrayEquals(want.data(), new RandomCrop(4, 1).andThen(new RandomHorizontalFlip()).andThen(Normalize.imagenet())
                .apply(x, new SplittableRandom(9)).data(), 0f);
        assertNotEquals(Arrays.toString(want.data()), Arrays.toString(t.apply(x, new SplittableRandom(10)).data()));
    }
}
