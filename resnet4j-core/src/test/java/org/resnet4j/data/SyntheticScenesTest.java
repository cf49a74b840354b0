package org.resnet4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class SyntheticScenesTest {
    @Test
    void annotationsDescribeExactlyWhatIsVisible() {
        SyntheticScenes scenes = new SyntheticScenes(60, 3);
        int n = scenes.imageSize();
        for (int i = 0; i < scenes.size(); i++) {
            SyntheticScenes.Scene s = scenes.get(i);
            assertArrayEquals(new int[] {3, n, n}, s.image().shape());
            for (float v : s.image().data()) assertTrue(v >= 0f && v <= 1f, "scene " + i + ": pixel " + v);
            assertFalse(s.instances().isEmpty(), "scene " + i + " has an object");
            int[] union = new int[n * n];
            for (SyntheticScenes.Instance o : s.instances()) {
                assertTrue(o.label() >= 0 && o.label() < SyntheticScenes.CLASSES.size());
                assertTrue(o.area() >= SyntheticScenes.MIN_PIXELS, "scene " + i + ": area " + o.area());
                // the box is the tight box of the visible mask
                int x0 = n, y0 = n, x1 = -1, y1 = -1;
                for (int p = 0; p < n * n; p++) {
                    if (!o.mask()[p]) continue;
                    assertEquals(0, union[p], "scene " + i + ": instance masks overlap at pixel " + p);
                    union[p] = o.label() + 1;
                    x0 = Math.min(x0, p % n);
                    y0 = Math.min(y0, p / n);
                    x1 = Math.max(x1, p % n);
                    y1 = Math.max(y1, p / n);
                }
                assertArrayEquals(new float[] {x0, y0, x1 + 1, y1 + 1}, o.box(), "scene " + i);
            }
            assertArrayEquals(union, s.semantic(), "scene " + i + ": the semantic mask is the instances' labels + 1, 0 elsewhere");
        }
    }

    @Test
    void scenesVaryInCountSizeAndOverlap() {
        SyntheticScenes scenes = new SyntheticScenes(200, 11);
        int n = scenes.imageSize();
        int minSide = Integer.MAX_VALUE, maxSide = 0, overlapping = 0, maxCount = 0;
        int[] perClass = new int[SyntheticScenes.CLASSES.size()];
        for (int i = 0; i < scenes.size(); i++) {
            List<SyntheticScenes.Instance> objs = scenes.get(i).instances();
            maxCount = Math.max(maxCount, objs.size());
            for (int a = 0; a < objs.size(); a++) {
                float[] b = objs.get(a).box();
                int side = (int) Math.max(b[2] - b[0], b[3] - b[1]);
                minSide = Math.min(minSide, side);
                maxSide = Math.max(maxSide, side);
                perClass[objs.get(a).label()]++;
                for (int c = a + 1; c < objs.size(); c++) {
                    float[] d = objs.get(c).box();
                    if (Math.min(b[2], d[2]) > Math.max(b[0], d[0]) && Math.min(b[3], d[3]) > Math.max(b[1], d[1])) overlapping++;
                }
            }
        }
        assertTrue(minSide <= 10, "small objects: smallest side " + minSide);
        assertTrue(maxSide >= n / 3, "large objects: largest side " + maxSide);
        assertTrue(overlapping >= 20, "objects overlap: " + overlapping + " overlapping pairs");
        assertEquals(6, maxCount, "up to 6 objects");
        for (int c = 0; c < perClass.length; c++) assertTrue(perClass[c] >= 40, SyntheticScenes.CLASSES.get(c) + ": " + perClass[c]);
    }

    @Test
    void aSceneIsAPureFunctionOfSeedAndIndex() throws Exception {
        SyntheticScenes a = new SyntheticScenes(16, 5), b = new SyntheticScenes(16, 5), other = new SyntheticScenes(16, 6);
        List<SyntheticScenes.Scene> serial = new ArrayList<>();
        for (int i = 0; i < 16; i++) serial.add(a.get(i));
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<SyntheticScenes.Scene>> got = new ArrayList<>();
            for (int i = 15; i >= 0; i--) {
                int k = i;
                got.add(pool.submit(() -> b.get(k)));
            }
            for (int i = 0; i < 16; i++) {
                SyntheticScenes.Scene s = got.get(15 - i).get();
                assertArrayEquals(serial.get(i).image().data(), s.image().data(), "scene " + i);
                assertArrayEquals(serial.get(i).semantic(), s.semantic());
                assertEquals(serial.get(i).instances().size(), s.instances().size());
            }
        } finally {
            pool.shutdown();
        }
        assertFalse(java.util.Arrays.equals(a.get(0).image().data(), other.get(0).image().data()), "another seed, another scene");
        assertThrows(IndexOutOfBoundsException.class, () -> a.get(16));
        assertThrows(IllegalArgumentException.class, () -> new SyntheticScenes(1, 0, 16, 3));
    }

    @Test
    void everyObjectStandsOutFromWhatSurroundsIt() {
        // mean colour inside each visible mask against the mean of a one-pixel ring just outside it
        SyntheticScenes scenes = new SyntheticScenes(40, 8);
        int n = scenes.imageSize(), plane = n * n, weak = 0, total = 0;
        for (int i = 0; i < scenes.size(); i++) {
            SyntheticScenes.Scene s = scenes.get(i);
            float[] img = s.image().data();
            for (SyntheticScenes.Instance o : s.instances()) {
                double in = 0, out = 0;
                int nin = 0, nout = 0;
                for (int p = 0; p < plane; p++) {
                    int x = p % n, y = p / n;
                    double luma = 0.299 * img[p] + 0.587 * img[plane + p] + 0.114 * img[2 * plane + p];
                    if (o.mask()[p]) {
                        in += luma;
                        nin++;
                    } else if (x > 0 && o.mask()[p - 1] || x < n - 1 && o.mask()[p + 1] || y > 0 && o.mask()[p - n] || y < n - 1 && o.mask()[p + n]) {
                        out += luma;
                        nout++;
                    }
                }
                total++;
                if (nout > 0 && Math.abs(in / nin - out / nout) < 0.1) weak++;
            }
        }
        assertTrue(weak * 10 <= total, weak + " of " + total + " objects hardly differ from their surroundings");
    }
}
