package org.resnet4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.resnet4j.tensor.Tensor;

class SyntheticShapesTest {
    @Test
    void exampleIsAPureFunctionOfSeedAndIndex() {
        SyntheticShapes a = new SyntheticShapes(200, 11);
        SyntheticShapes b = new SyntheticShapes(200, 11);
        // Out of order and from several threads: still the same tensors.
        List<float[]> parallel = IntStream.range(0, 200).parallel().mapToObj(i -> b.get(199 - i).image().data()).toList();
        for (int i = 0; i < 200; i++) {
            Example e = a.get(i);
            assertArrayEquals(e.image().data(), parallel.get(199 - i), 0f, "example " + i);
            assertArrayEquals(e.image().data(), a.get(i).image().data(), 0f);
            assertEquals(e.label(), b.get(i).label());
        }
        SyntheticShapes other = new SyntheticShapes(200, 12);
        int same = 0;
        for (int i = 0; i < 200; i++) if (Arrays.equals(a.get(i).image().data(), other.get(i).image().data())) same++;
        assertEquals(0, same);
    }

    @Test
    void classesAreBalancedAndLabelsConsistent() {
        SyntheticShapes ds = new SyntheticShapes(603, 3);
        assertEquals(List.of("circle", "square", "triangle", "cross", "ring", "star"), ds.classes());
        int[] count = new int[6];
        for (int i = 0; i < ds.size(); i++) {
            Example e = ds.get(i);
            assertEquals(ds.label(i), e.label());
            count[e.label()]++;
        }
        for (int c = 0; c < 6; c++) assertTrue(count[c] == 100 || count[c] == 101, Arrays.toString(count));
        // Labels are not simply index mod 6.
        int modMatches = 0;
        for (int i = 0; i < 600; i++) if (ds.label(i) == i % 6) modMatches++;
        assertTrue(modMatches < 300, "labels follow the index: " + modMatches);
    }

    @Test
    void imagesAreRgbInUnitRange() {
        SyntheticShapes ds = new SyntheticShapes(20, 5, 48);
        assertEquals(3, ds.channels());
        assertEquals(48, ds.height());
        for (int i = 0; i < ds.size(); i++) {
            Tensor t = ds.get(i).image();
            assertArrayEquals(new int[] {3, 48, 48}, t.shape());
            for (float v : t.data()) assertTrue(v >= 0 && v <= 1);
        }
    }

    @Test
    void boxesContainTheMaskAndTheShapeStandsOut() {
        SyntheticShapes ds = new SyntheticShapes(300, 9);
        for (int i = 0; i < ds.size(); i++) {
            SyntheticShapes.Annotation a = ds.annotation(i);
            Tensor img = ds.get(i).image();
            assertEquals(ds.label(i), a.label());
            float[] box = a.box();
            float[] mask = a.mask().data();
            assertArrayEquals(new int[] {32, 32}, a.mask().shape());
            int minX = 99;
            int minY = 99;
            int maxX = -1;
            int maxY = -1;
            int area = 0;
            double[] in = new double[3];
            double[] out = new double[3];
            for (int y = 0; y < 32; y++) {
                for (int x = 0; x < 32; x++) {
                    float m = mask[y * 32 + x];
                    assertTrue(m == 0f || m == 1f);
                    for (int c = 0; c < 3; c++) (m == 1f ? in : out)[c] += img.get(c, y, x);
                    if (m == 0f) continue;
                    area++;
                    // The pixel [x, x+1) x [y, y+1) overlaps the box.
                    assertTrue(x + 1 > box[0] && x < box[2] && y + 1 > box[1] && y < box[3],
                            "example " + i + ": mask pixel (" + x + ", " + y + ") outside box " + Arrays.toString(box));
                    minX = Math.min(minX, x);
                    minY = Math.min(minY, y);
                    maxX = Math.max(maxX, x);
                    maxY = Math.max(maxY, y);
                }
            }
            // Shapes are 16-29 px across, whole, and the box is tight (star tips thinner than a pixel excepted).
            assertTrue(area >= 40, "example " + i + " mask area " + area);
            assertTrue(box[0] >= 0 && box[1] >= 0 && box[2] <= 32 && box[3] <= 32);
            assertTrue(minX - box[0] < 3 && box[2] - (maxX + 1) < 3 && minY - box[1] < 3 && box[3] - (maxY + 1) < 3,
                    "example " + i + ": box " + Arrays.toString(box) + " vs mask " + minX + ".." + maxX + ", " + minY + ".." + maxY);
            // Mean luminance inside the mask differs clearly from the background's.
            double lumIn = (0.299 * in[0] + 0.587 * in[1] + 0.114 * in[2]) / area;
            double lumOut = (0.299 * out[0] + 0.587 * out[1] + 0.114 * out[2]) / (1024 - area);
            assertTrue(Math.abs(lumIn - lumOut) > 0.15, "example " + i + ": contrast " + Math.abs(lumIn - lumOut));
        }
    }

    @Test
    void insideTests() {
        int[] filledCentre = {SyntheticShapes.CIRCLE, SyntheticShapes.SQUARE, SyntheticShapes.TRIANGLE, SyntheticShapes.CROSS,
            SyntheticShapes.STAR};
        for (int s : filledCentre) assertTrue(SyntheticShapes.inside(s, 0, 0), "shape " + s);
        assertFalse(SyntheticShapes.inside(SyntheticShapes.RING, 0, 0)); // the hole
        assertTrue(SyntheticShapes.inside(SyntheticShapes.RING, 0.8, 0));
        assertTrue(SyntheticShapes.inside(SyntheticShapes.STAR, 0, 0.95)); // a tip
        assertFalse(SyntheticShapes.inside(SyntheticShapes.STAR, 0.45, 0.62)); // between two tips
        assertTrue(SyntheticShapes.inside(SyntheticShapes.CROSS, 0.9, 0));
        assertFalse(SyntheticShapes.inside(SyntheticShapes.CROSS, 0.5, 0.5));
        assertTrue(SyntheticShapes.inside(SyntheticShapes.TRIANGLE, 0, 0.9));
        assertFalse(SyntheticShapes.inside(SyntheticShapes.TRIANGLE, 0, -0.6));
        // Nothing pokes out of the unit circle.
        SplittableRandom r = new SplittableRandom(1);
        for (int k = 0; k < 20_000; k++) {
            double a = r.nextDouble() * 2 * Math.PI;
            double rho = 1.0001 + r.nextDouble();
            for (int s = 0; s < 6; s++) assertFalse(SyntheticShapes.inside(s, rho * Math.cos(a), rho * Math.sin(a)));
        }
    }

    @Test
    void signedDistanceNeverOverstatesTheDistanceToTheBoundary() {
        // The renderer skips sub-sampling where |d| > half a pixel diagonal; that is only right if
        // every point closer than |d| is on the same side.
        SplittableRandom r = new SplittableRandom(2);
        for (int s = 0; s < 6; s++) {
            for (int k = 0; k < 20_000; k++) {
                double u = r.nextDouble() * 2.4 - 1.2;
                double v = r.nextDouble() * 2.4 - 1.2;
                double d = SyntheticShapes.signedDistance(s, u, v);
                double a = r.nextDouble() * 2 * Math.PI;
                double step = Math.abs(d) * r.nextDouble() * 0.999;
                boolean here = d <= 0;
                assertEquals(here, SyntheticShapes.inside(s, u + step * Math.cos(a), v + step * Math.sin(a)),
                        "shape " + s + " at (" + u + ", " + v + ") d=" + d);
            }
        }
    }
}
