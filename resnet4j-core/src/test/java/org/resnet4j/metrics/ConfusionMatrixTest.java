package org.resnet4j.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.resnet4j.io.json.Json;

/**
 * Segmentation scores as torchvision's reference ConfusionMatrix defines them: hand-computed
 * cases and a numpy golden from tools/make_metrics_goldens.py.
 */
class ConfusionMatrixTest {

    static int[] ints(Object list) {
        return ((List<?>) list).stream().mapToInt(x -> ((Number) x).intValue()).toArray();
    }

    /** null in the golden is NaN (0/0), which JSON cannot write. */
    static double num(Object o) {
        return o == null ? Double.NaN : ((Number) o).doubleValue();
    }

    static double[] doubles(Object list) {
        return ((List<?>) list).stream().mapToDouble(ConfusionMatrixTest::num).toArray();
    }

    @Test
    @SuppressWarnings("unchecked")
    void matchesTheNumpyGolden() throws IOException {
        Map<String, Object> g = Json.parseObject(Files.readString(Path.of("src/test/resources/goldens/segmentation.json")));
        List<Object> cases = (List<Object>) g.get("cases");
        assertEquals(2, cases.size());
        for (Object o : cases) {
            Map<String, Object> c = (Map<String, Object>) o;
            String name = (String) c.get("name");
            int n = ((Number) c.get("num_classes")).intValue();
            int[] target = ints(c.get("target")), pred = ints(c.get("prediction"));
            int[] shape = ints(c.get("shape"));
            ConfusionMatrix m = new ConfusionMatrix(n);
            int perImage = shape[1] * shape[2];
            for (int b = 0; b < shape[0]; b++) { // one update per image, as the reference's loop
                m.update(java.util.Arrays.copyOfRange(target, b * perImage, (b + 1) * perImage),
                        java.util.Arrays.copyOfRange(pred, b * perImage, (b + 1) * perImage));
            }
            List<Object> want = (List<Object>) c.get("matrix");
            long[][] got = m.matrix();
            for (int t = 0; t < n; t++) {
                assertArrayEquals(((List<?>) want.get(t)).stream().mapToLong(x -> ((Number) x).longValue()).toArray(), got[t], name + " row " + t);
            }
            assertEquals(num(c.get("pixel_accuracy")), m.pixelAccuracy(), 1e-12, name);
            assertArrayEquals(doubles(c.get("class_accuracy")), m.classAccuracy(), 1e-12, name);
            assertArrayEquals(doubles(c.get("iou")), m.iou(), 1e-12, name);
            assertEquals(num(c.get("mean_iou")), m.meanIou(), 1e-12, name);
            assertEquals(num(c.get("mean_iou_defined")), m.meanIouOfDefined(), 1e-12, name);
            assertEquals(c.get("summary"), m.summary(), name);
        }
    }

    @Test
    void handComputedTwoClasses() {
        ConfusionMatrix m = new ConfusionMatrix(2);
        m.update(new int[] {0, 0, 1, 1, 255}, new int[] {0, 1, 1, 1, 0});
        assertArrayEquals(new long[][] {{1, 1}, {0, 2}}, m.matrix());
        assertEquals(4, m.total(), "the ignored pixel is not counted");
        assertEquals(3 / 4.0, m.pixelAccuracy());
        assertArrayEquals(new double[] {1 / 2.0, 2 / 2.0}, m.classAccuracy());
        // class 0: 1 / (2 + 1 - 1); class 1: 2 / (2 + 3 - 2)
        assertArrayEquals(new double[] {1 / 2.0, 2 / 3.0}, m.iou());
        assertEquals((1 / 2.0 + 2 / 3.0) / 2, m.meanIou());
        assertEquals("global correct: 75.0\naverage row correct: ['50.0', '100.0']\nIoU: ['50.0', '66.7']\nmean IoU: 58.3", m.summary());
    }

    @Test
    void aClassNeverPredictedHasZeroIouAndAccuracy() {
        ConfusionMatrix m = new ConfusionMatrix(3);
        m.update(new int[] {0, 1, 2, 2}, new int[] {0, 1, 1, 1});
        assertEquals(0.0, m.iou()[2]);
        assertEquals(0.0, m.classAccuracy()[2]);
        assertEquals(1 / 3.0, m.iou()[1], 1e-15);
    }

    @Test
    void aClassNeverPresent() {
        ConfusionMatrix m = new ConfusionMatrix(4);
        m.update(new int[] {0, 1, 1, 2}, new int[] {0, 1, 2, 2}); // class 3 neither present nor predicted
        assertTrue(Double.isNaN(m.iou()[3]));
        assertTrue(Double.isNaN(m.classAccuracy()[3]));
        assertTrue(Double.isNaN(m.meanIou()), "the reference's mean propagates NaN");
        assertEquals((1 + 1 / 2.0 + 1 / 2.0) / 3, m.meanIouOfDefined(), 1e-15);
        assertTrue(m.summary().endsWith("IoU: ['100.0', '50.0', '50.0', 'nan']\nmean IoU: nan"), m.summary());
        // predicted but never present: accuracy 0/0, IoU 0 / (0 + 1 - 0)
        ConfusionMatrix p = new ConfusionMatrix(2);
        p.update(new int[] {0, 0}, new int[] {0, 1});
        assertTrue(Double.isNaN(p.classAccuracy()[1]));
        assertEquals(0.0, p.iou()[1]);
    }

    @Test
    void allPixelsIgnored() {
        ConfusionMatrix m = new ConfusionMatrix(3);
        m.update(new int[] {255, 255}, new int[] {0, 2});
        assertEquals(0, m.total());
        assertTrue(Double.isNaN(m.pixelAccuracy()));
        assertTrue(Double.isNaN(m.meanIouOfDefined()));
        assertEquals("global correct: nan\naverage row correct: ['nan', 'nan', 'nan']\nIoU: ['nan', 'nan', 'nan']\nmean IoU: nan", m.summary());
    }

    @Test
    void perfectPrediction() {
        ConfusionMatrix m = new ConfusionMatrix(3);
        int[] t = {0, 1, 2, 2, 1, 0, 255};
        m.update(t, new int[] {0, 1, 2, 2, 1, 0, 1});
        assertEquals(1.0, m.pixelAccuracy());
        assertArrayEquals(new double[] {1, 1, 1}, m.iou());
        assertEquals(1.0, m.meanIou());
    }

    @Test
    void mergeAddsCountsAndResetClears() {
        ConfusionMatrix a = new ConfusionMatrix(2), b = new ConfusionMatrix(2);
        a.update(new int[] {0, 1}, new int[] {0, 0});
        b.update(new int[] {1, 1}, new int[] {1, 0});
        a.merge(b);
        assertArrayEquals(new long[][] {{1, 0}, {2, 1}}, a.matrix());
        a.reset();
        assertEquals(0, a.total());
        assertThrows(IllegalArgumentException.class, () -> a.merge(new ConfusionMatrix(3)));
    }

    @Test
    void outOfRangeValuesAreNamedAndNothingIsCounted() {
        ConfusionMatrix m = new ConfusionMatrix(5);
        String t = assertThrows(IllegalArgumentException.class, () -> m.update(new int[] {0, 7}, new int[] {0, 0})).getMessage();
        assertTrue(t.contains("target value 7 at pixel 1"), t);
        String p = assertThrows(IllegalArgumentException.class, () -> m.update(new int[] {0, 1}, new int[] {0, 255})).getMessage();
        assertTrue(p.contains("prediction value 255 at pixel 1"), p);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> m.update(new int[] {-1}, new int[] {0})).getMessage().contains("target value -1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> m.update(new int[] {0}, new int[] {0, 1})).getMessage().contains("1 pixels, prediction 2"));
        assertEquals(0, m.total(), "a refused update counts nothing");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new ConfusionMatrix(300)).getMessage().contains("ignore index 255"));
        assertEquals(0, new ConfusionMatrix(300, -1).total());
    }
}
