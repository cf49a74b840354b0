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
 * COCO box AP against pycocotools' COCOeval (goldens from tools/make_metrics_goldens.py) and on
 * cases small enough to work out by hand.
 */
class CocoEvaluatorTest {
    static final Path GOLDEN = Path.of("src/test/resources/goldens/coco_eval.json");

    @SuppressWarnings("unchecked")
    static Map<String, Object> golden() throws IOException {
        return Json.parseObject(Files.readString(GOLDEN));
    }

    static double num(Object o) {
        return ((Number) o).doubleValue();
    }

    static long[] longs(Object list) {
        return ((List<?>) list).stream().mapToLong(x -> ((Number) x).longValue()).toArray();
    }

    static double[] doubles(Object list) {
        return ((List<?>) list).stream().mapToDouble(CocoEvaluatorTest::num).toArray();
    }

    static CocoBox box(Object list) {
        double[] b = doubles(list);
        return new CocoBox(b[0], b[1], b[2], b[3]);
    }

    @SuppressWarnings("unchecked")
    static CocoResult evaluateCase(Map<String, Object> c) {
        CocoEvaluator e = new CocoEvaluator(longs(c.get("images")), longs(c.get("categories")));
        for (Object o : (List<Object>) c.get("annotations")) {
            Map<String, Object> a = (Map<String, Object>) o;
            e.addGroundTruth(((Number) a.get("image_id")).longValue(), ((Number) a.get("category_id")).longValue(),
                    box(a.get("bbox")), num(a.get("area")), ((Number) a.get("iscrowd")).intValue() != 0);
        }
        for (Object o : (List<Object>) c.get("detections")) {
            Map<String, Object> d = (Map<String, Object>) o;
            e.addDetection(((Number) d.get("image_id")).longValue(), ((Number) d.get("category_id")).longValue(),
                    box(d.get("bbox")), num(d.get("score")));
        }
        return e.evaluate();
    }

    @Test
    void thresholdsAreExactlyPycocotoolsDoubles() throws IOException {
        Map<String, Object> g = golden();
        assertArrayEquals(doubles(g.get("iouThrs")), CocoEvaluator.iouThresholds(), 0.0);
        assertArrayEquals(doubles(g.get("recThrs")), CocoEvaluator.recallThresholds(), 0.0);
    }

    @Test
    @SuppressWarnings("unchecked")
    void reproducesPycocotoolsOnTheGoldenSets() throws IOException {
        List<Object> cases = (List<Object>) golden().get("cases");
        assertEquals(3, cases.size());
        for (Object o : cases) {
            Map<String, Object> c = (Map<String, Object>) o;
            String name = (String) c.get("name");
            CocoResult r = evaluateCase(c);
            double[] want = doubles(c.get("stats"));
            double[] got = r.stats();
            // bit for bit: same matching, same arithmetic, numpy's pairwise summation in the means
            for (int i = 0; i < 12; i++) assertEquals(want[i], got[i], 0.0, name + " stats[" + i + "]");
            double[] wantCat = doubles(c.get("ap_per_category"));
            long[] cats = r.categoryIds();
            for (int k = 0; k < cats.length; k++) assertEquals(wantCat[k], r.apPerCategory().get(cats[k]), 0.0, name + " AP of category " + cats[k]);
            assertEquals(c.get("summary"), r.summary(), name + " printed summary");
            assertEquals(0, r.droppedDetections());
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void theGoldenSetsCoverTheCasesTheyClaim() throws IOException {
        // a golden that silently lost its hard cases would test less than it says
        Map<String, Object> a = (Map<String, Object>) ((List<Object>) golden().get("cases")).get(0);
        List<Map<String, Object>> dets = (List<Map<String, Object>>) (List<?>) a.get("detections");
        List<Map<String, Object>> gts = (List<Map<String, Object>>) (List<?>) a.get("annotations");
        long maxPerImage = dets.stream().collect(java.util.stream.Collectors.groupingBy(d -> d.get("image_id"),
                java.util.stream.Collectors.counting())).values().stream().mapToLong(Long::longValue).max().orElse(0);
        assertTrue(maxPerImage > 100, "an image with more than 100 detections: " + maxPerImage);
        assertTrue(gts.stream().anyMatch(g -> ((Number) g.get("iscrowd")).intValue() == 1), "a crowd region");
        long[] images = longs(a.get("images"));
        assertTrue(gts.stream().noneMatch(g -> ((Number) g.get("image_id")).longValue() == images[images.length - 1]), "an image without ground truth");
        assertTrue(dets.stream().anyMatch(d -> ((Number) d.get("image_id")).longValue() == images[images.length - 1]), "... with detections");
        assertTrue(dets.stream().noneMatch(d -> ((Number) d.get("category_id")).longValue() == 5), "category 5 never predicted");
        assertTrue(gts.stream().noneMatch(g -> ((Number) g.get("category_id")).longValue() == 9), "category 9 never in the ground truth");
        long distinctScores = dets.stream().map(d -> d.get("score")).distinct().count();
        assertTrue(distinctScores < dets.size(), "equal scores");
    }

    static CocoEvaluator oneImage() {
        return new CocoEvaluator(new long[] {1}, new long[] {1});
    }

    @Test
    void onePerfectDetectionScoresOne() {
        CocoEvaluator e = oneImage();
        CocoBox b = new CocoBox(10, 10, 50, 50); // 2500 px: medium
        e.addGroundTruth(1, 1, b, false);
        e.addDetection(1, 1, b, 0.9);
        CocoResult r = e.evaluate();
        // no small or large ground truth: -1 there, as pycocotools reports it; precision is
        // tp / (tp + fp + spacing(1)), so a perfect AP is 1 less about 1e-16, in pycocotools too
        assertArrayEquals(new double[] {1, 1, 1, -1, 1, -1, 1, 1, 1, -1, 1, -1}, r.stats(), 1e-12);
        assertTrue(r.ap() < 1.0, "pycocotools' spacing(1) is in the denominator");
        assertTrue(r.summary().startsWith(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000\n"), r.summary());
        assertTrue(r.summary().contains(" Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = -1.000\n"), r.summary());
    }

    @Test
    void aFalsePositiveAboveTheTruePositiveHalvesPrecision() {
        CocoEvaluator e = oneImage();
        e.addGroundTruth(1, 1, new CocoBox(0, 0, 100, 100), false);
        e.addDetection(1, 1, new CocoBox(300, 300, 100, 100), 0.9); // disjoint
        e.addDetection(1, 1, new CocoBox(0, 0, 100, 100), 0.8);
        CocoResult r = e.evaluate();
        // ranks: FP (precision 0, recall 0), TP (precision 1/2, recall 1); the envelope makes
        // every recall threshold read 1/2 (less pycocotools' spacing(1) in the denominator)
        assertEquals(0.5, r.ap(), 1e-12);
        assertEquals(0.0, r.stats()[6], "AR at maxDets 1 keeps only the false positive");
        assertEquals(1.0, r.stats()[7]);
    }

    @Test
    void aTruePositiveAboveAFalsePositiveScoresOne() {
        CocoEvaluator e = oneImage();
        e.addGroundTruth(1, 1, new CocoBox(0, 0, 100, 100), false);
        e.addDetection(1, 1, new CocoBox(300, 300, 100, 100), 0.8);
        e.addDetection(1, 1, new CocoBox(0, 0, 100, 100), 0.9);
        assertEquals(1.0, e.evaluate().ap(), 1e-12);
    }

    @Test
    void equalScoresKeepInputOrder() {
        for (boolean fpFirst : new boolean[] {true, false}) {
            CocoEvaluator e = oneImage();
            e.addGroundTruth(1, 1, new CocoBox(0, 0, 100, 100), false);
            CocoBox fp = new CocoBox(300, 300, 100, 100), tp = new CocoBox(0, 0, 100, 100);
            e.addDetection(1, 1, fpFirst ? fp : tp, 0.5);
            e.addDetection(1, 1, fpFirst ? tp : fp, 0.5);
            assertEquals(fpFirst ? 0.5 : 1.0, e.evaluate().ap(), 1e-12, "false positive first: " + fpFirst);
        }
    }

    @Test
    void halfTheObjectsFoundGivesTheFirst51RecallThresholds() {
        CocoEvaluator e = oneImage();
        e.addGroundTruth(1, 1, new CocoBox(0, 0, 100, 100), false);
        e.addGroundTruth(1, 1, new CocoBox(200, 0, 100, 100), false);
        e.addDetection(1, 1, new CocoBox(0, 0, 100, 100), 0.9);
        CocoResult r = e.evaluate();
        // recall thresholds 0.00..0.50 are reached with precision 1, 0.51..1.00 are not
        double[] rec = CocoEvaluator.recallThresholds();
        long reached = java.util.Arrays.stream(rec).filter(x -> x <= 0.5).count();
        assertEquals(51, reached);
        assertEquals((double) reached / rec.length, r.ap(), 1e-12);
        assertEquals(0.5, r.stats()[8], 0.0);
    }

    @Test
    void aDetectionInsideACrowdRegionIsNeitherTrueNorFalse() {
        CocoEvaluator e = oneImage();
        e.addGroundTruth(1, 1, new CocoBox(0, 0, 50, 50), false);
        e.addGroundTruth(1, 1, new CocoBox(200, 200, 300, 300), true);
        e.addDetection(1, 1, new CocoBox(250, 250, 20, 20), 0.99); // inside the crowd: IoU = 400 / 400
        e.addDetection(1, 1, new CocoBox(260, 260, 20, 20), 0.98); // a crowd region matches many times
        e.addDetection(1, 1, new CocoBox(0, 0, 50, 50), 0.5);
        assertEquals(1.0, e.evaluate().ap(), 1e-12);
        // the same detections without the crowd flag are two false positives above the hit
        CocoEvaluator f = oneImage();
        f.addGroundTruth(1, 1, new CocoBox(0, 0, 50, 50), false);
        f.addDetection(1, 1, new CocoBox(250, 250, 20, 20), 0.99);
        f.addDetection(1, 1, new CocoBox(0, 0, 50, 50), 0.5);
        assertEquals(0.5, f.evaluate().ap(), 1e-12);
    }

    @Test
    void crowdIouIsOverTheDetectionsArea() {
        CocoBox[] dt = {new CocoBox(0, 0, 10, 10)};
        CocoBox[] gt = {new CocoBox(5, 0, 100, 100), new CocoBox(5, 0, 100, 100)};
        double[][] iou = ImageEvaluation.boxIou(dt, gt, new boolean[] {false, true});
        assertEquals(50.0 / (100 + 10000 - 50), iou[0][0], 0.0);
        assertEquals(50.0 / 100, iou[0][1], 0.0);
        assertEquals(0.0, ImageEvaluation.boxIou(dt, new CocoBox[] {new CocoBox(10, 0, 5, 5)}, new boolean[1])[0][0], "touching boxes");
    }

    @Test
    void categoriesWithoutGroundTruthAreLeftOutOfTheMean() {
        CocoEvaluator e = new CocoEvaluator(new long[] {1}, new long[] {1, 2});
        e.addGroundTruth(1, 1, new CocoBox(0, 0, 100, 100), false);
        e.addDetection(1, 1, new CocoBox(0, 0, 100, 100), 0.9);
        e.addDetection(1, 2, new CocoBox(0, 0, 100, 100), 0.9); // category 2 has no ground truth
        e.addDetection(1, 7, new CocoBox(0, 0, 100, 100), 0.9); // not a category: dropped
        CocoResult r = e.evaluate();
        assertEquals(List.of(1L, 2L), List.copyOf(r.apPerCategory().keySet()));
        assertEquals(1.0, r.apPerCategory().get(1L), 1e-12);
        assertEquals(-1.0, r.apPerCategory().get(2L));
        assertEquals(1.0, r.ap(), 1e-12);
        assertEquals(1, r.droppedDetections());
        assertEquals(-1.0, r.precision(0, 0, 1, 0, 2));
    }

    @Test
    void noDetectionsScoreZeroAndNoGroundTruthScoresMinusOne() {
        CocoEvaluator e = oneImage();
        e.addGroundTruth(1, 1, new CocoBox(0, 0, 100, 100), false);
        assertEquals(0.0, e.evaluate().ap(), 0.0);
        CocoEvaluator f = oneImage();
        f.addDetection(1, 1, new CocoBox(0, 0, 100, 100), 0.9);
        for (double s : f.evaluate().stats()) assertEquals(-1.0, s);
    }

    @Test
    void theAreaFieldDecidesTheRange() {
        // a 100x100 box whose segmentation covers 900 px is a small object for COCO
        CocoEvaluator e = oneImage();
        e.addGroundTruth(1, 1, new CocoBox(0, 0, 100, 100), 900, false);
        e.addDetection(1, 1, new CocoBox(0, 0, 100, 100), 0.9);
        double[] s = e.evaluate().stats();
        assertEquals(1.0, s[3], 1e-12, "AP small");
        assertEquals(-1.0, s[5], "AP large");
    }

    @Test
    void cornersConvertToWidthAndHeight() {
        assertEquals(new CocoBox(1, 2, 3, 5), CocoBox.fromCorners(1, 2, 4, 7));
    }

    @Test
    void badInputIsRefusedByName() {
        CocoEvaluator e = oneImage();
        CocoBox b = new CocoBox(0, 0, 1, 1);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> e.addDetection(2, 1, b, 0.5)).getMessage().contains("image_id 2"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> e.addGroundTruth(1, 3, b, false)).getMessage().contains("category_id 3"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> e.addDetection(1, 1, b, Double.NaN)).getMessage().contains("score"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> e.addGroundTruth(1, 1, b, -1, false)).getMessage().contains("area"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CocoBox.fromCorners(5, 0, 1, 1)).getMessage().contains("width is negative"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new CocoBox(0, Double.POSITIVE_INFINITY, 1, 1)).getMessage().contains("y"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new CocoEvaluator(new long[] {4, 4}, new long[] {1})).getMessage().contains("image id 4"));
    }

    @Test
    void formatsAsPythonDoes() {
        // Python: '{:.3f}'.format(0.0625) == '0.062' and '{:.3f}'.format(1.0005) == '1.000' (exact binary value, half even)
        assertEquals("0.062", PyFormat.fixed(0.0625, 3));
        assertEquals("1.000", PyFormat.fixed(1.0005, 3));
        assertEquals("-1.000", PyFormat.fixed(-1, 3));
        assertEquals("-0.000", PyFormat.fixed(-0.0001, 3));
        assertEquals("nan", PyFormat.fixed(Double.NaN, 1));
        assertEquals("0.2", PyFormat.fixed(0.25, 1));
    }
}
