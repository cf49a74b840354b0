package org.resnet4j.metrics;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * COCO box AP, computed as pycocotools' {@code COCOeval(cocoGt, cocoDt, "bbox")} computes it
 * ({@code evaluate()}, {@code accumulate()}, {@code summarize()}), to the last bit on the
 * goldens of {@code tools/make_metrics_goldens.py}. docs/METRICS.md states the definitions.
 *
 * <p>Give the dataset's image ids and category ids (COCO's {@code images} and {@code categories}
 * lists: an image without any annotation still counts, and so does a category without one),
 * then the ground truth and the detections, then call {@link #evaluate}. Boxes are COCO's
 * {@code [x, y, w, h]} ({@link CocoBox#fromCorners} converts corners). A ground truth's area is
 * its {@code area} field when given (COCO's is the segmentation's area, which the area ranges
 * use even for boxes), else {@code w * h}; a detection's area is {@code w * h}, as {@code
 * loadRes} sets it.
 *
 * <p>Where pycocotools would fail or do something surprising, this class says so instead: a
 * ground truth or detection on an image not in the list, or a ground truth of an unknown
 * category, is an error (pycocotools asserts on the first and drops the second); a detection of
 * an unknown category is dropped as pycocotools drops it (a model over COCO's 91 labels predicts
 * ids that the 80 categories lack) and counted in {@link CocoResult#droppedDetections}; an empty
 * detection list is evaluated (every AP 0; pycocotools' {@code loadRes} fails on it). Matching
 * does not use annotation ids, so ground truth with id 0, which pycocotools never counts as
 * matched, has no special meaning here.
 */
public final class CocoEvaluator {
    /** IoU thresholds .50:.05:.95, as {@code np.linspace(.5, .95, 10)} computes them. */
    private static final double[] IOU_THRESHOLDS = linspace(0.5, 0.95, 10);
    /** Recall thresholds 0:.01:1, as {@code np.linspace(0, 1, 101)} computes them. */
    private static final double[] RECALL_THRESHOLDS = linspace(0.0, 1.0, 101);
    /** Detections kept per image and category: 1, 10, 100 (pycocotools' {@code maxDets}). */
    private static final int[] MAX_DETS = {1, 10, 100};
    /** Area ranges all, small, medium, large: [lo, hi] in pixels, both bounds inclusive. */
    private static final double[][] AREA_RANGES = {{0, 1e10}, {0, 32 * 32}, {32 * 32, 96 * 96}, {96 * 96, 1e10}};

    private final long[] images;
    private final long[] categories;
    private final Map<Long, Integer> imageIndex = new HashMap<>();
    private final Map<Long, Integer> categoryIndex = new HashMap<>();
    /** [category * images + image]: ground truth and detections in input order; null while empty (COCO has 400,000 cells). */
    private final List<Gt>[] gts;
    private final List<Dt>[] dts;
    private int dropped;

    private record Gt(CocoBox box, double area, boolean crowd) {}

    private record Dt(CocoBox box, double score) {}

    /**
     * @param imageIds every image of the dataset (COCO's {@code images}), no id twice
     * @param categoryIds every category (COCO's {@code categories}), no id twice
     */
    @SuppressWarnings("unchecked")
    public CocoEvaluator(long[] imageIds, long[] categoryIds) {
        // pycocotools evaluates images and categories in sorted id order (np.unique), which
        // decides how equal scores on different images are ordered
        images = sortedUnique(imageIds, "image");
        categories = sortedUnique(categoryIds, "category");
        for (int i = 0; i < images.length; i++) imageIndex.put(images[i], i);
        for (int k = 0; k < categories.length; k++) categoryIndex.put(categories[k], k);
        int cells = Math.multiplyExact(images.length, categories.length);
        gts = new List[cells];
        dts = new List[cells];
    }

    /** The IoU thresholds (10), exactly pycocotools' doubles. */
    public static double[] iouThresholds() {
        return IOU_THRESHOLDS.clone();
    }

    /** The recall thresholds (101), exactly pycocotools' doubles. */
    public static double[] recallThresholds() {
        return RECALL_THRESHOLDS.clone();
    }

    /** Adds a ground-truth object whose area is its box's ({@code w * h}). */
    public void addGroundTruth(long imageId, long categoryId, CocoBox box, boolean crowd) {
        addGroundTruth(imageId, categoryId, box, box.area(), crowd);
    }

    /**
     * Adds a ground-truth object with COCO's {@code area} field (for instance the segmentation's
     * area), which decides its area range; {@code crowd} is {@code iscrowd}.
     */
    public void addGroundTruth(long imageId, long categoryId, CocoBox box, double area, boolean crowd) {
        if (!Double.isFinite(area) || area < 0)
            throw new IllegalArgumentException("ground truth area must be finite and at least 0, got " + area);
        int i = image(imageId, "ground truth");
        Integer k = categoryIndex.get(categoryId);
        if (k == null) throw new IllegalArgumentException("ground truth category_id " + categoryId + " is not among the categories " + Arrays.toString(categories));
        int c = k * images.length + i;
        if (gts[c] == null) gts[c] = new ArrayList<>();
        gts[c].add(new Gt(box, area, crowd));
    }

    /** Adds a detection; one of a category not in the list is dropped and counted, as pycocotools drops it. */
    public void addDetection(long imageId, long categoryId, CocoBox box, double score) {
        if (!Double.isFinite(score)) throw new IllegalArgumentException("detection score is not finite: " + score);
        int i = image(imageId, "detection");
        Integer k = categoryIndex.get(categoryId);
        if (k == null) {
            dropped++;
            return;
        }
        int c = k * images.length + i;
        if (dts[c] == null) dts[c] = new ArrayList<>();
        dts[c].add(new Dt(box, score));
    }

    /** Runs the evaluation over everything added so far. */
    public CocoResult evaluate() {
        int t = IOU_THRESHOLDS.length, r = RECALL_THRESHOLDS.length, kk = categories.length, a = AREA_RANGES.length,
                m = MAX_DETS.length, ni = images.length;
        int maxDet = MAX_DETS[m - 1];
        double[] precision = new double[t * r * kk * a * m];
        double[] recall = new double[t * kk * a * m];
        Arrays.fill(precision, -1); // -1: no ground truth for this category and area
        Arrays.fill(recall, -1);
        for (int k = 0; k < kk; k++) {
            ImageEvaluation[][] perImage = new ImageEvaluation[a][ni];
            for (int i = 0; i < ni; i++) {
                List<Gt> g = gts[k * ni + i] == null ? List.of() : gts[k * ni + i];
                List<Dt> d = dts[k * ni + i] == null ? List.of() : sortedByScore(dts[k * ni + i], maxDet);
                if (g.isEmpty() && d.isEmpty()) continue; // pycocotools: evaluateImg returns None
                double[] gtArea = new double[g.size()];
                boolean[] crowd = new boolean[g.size()];
                CocoBox[] gtBox = new CocoBox[g.size()];
                for (int j = 0; j < g.size(); j++) {
                    gtArea[j] = g.get(j).area();
                    crowd[j] = g.get(j).crowd();
                    gtBox[j] = g.get(j).box();
                }
                double[] dtArea = new double[d.size()], score = new double[d.size()];
                CocoBox[] dtBox = new CocoBox[d.size()];
                for (int j = 0; j < d.size(); j++) {
                    dtBox[j] = d.get(j).box();
                    dtArea[j] = dtBox[j].area();
                    score[j] = d.get(j).score();
                }
                double[][] ious = g.isEmpty() || d.isEmpty() ? null : ImageEvaluation.boxIou(dtBox, gtBox, crowd);
                for (int ai = 0; ai < a; ai++) {
                    perImage[ai][i] = ImageEvaluation.evaluate(gtArea, crowd, dtArea, score, ious,
                            AREA_RANGES[ai][0], AREA_RANGES[ai][1], IOU_THRESHOLDS);
                }
            }
            for (int ai = 0; ai < a; ai++) {
                for (int mi = 0; mi < m; mi++) {
                    accumulate(perImage[ai], MAX_DETS[mi], precision, recall, k, ai, mi);
                }
            }
        }
        return new CocoResult(categories.clone(), precision, recall, dropped);
    }

    /**
     * pycocotools' {@code accumulate} for one category, area range and maxDets: the images'
     * detections (each image's best {@code maxDet}) ranked by score across images, cumulative
     * true and false positives per IoU threshold, precision made non-increasing from the right,
     * and read at the first rank whose recall reaches each recall threshold (0 beyond the
     * largest recall reached).
     */
    private void accumulate(ImageEvaluation[] perImage, int maxDet, double[] precision, double[] recall, int k, int ai, int mi) {
        int t = IOU_THRESHOLDS.length, r = RECALL_THRESHOLDS.length, kk = categories.length, a = AREA_RANGES.length, m = MAX_DETS.length;
        List<ImageEvaluation> e = new ArrayList<>();
        for (ImageEvaluation ev : perImage) if (ev != null) e.add(ev);
        if (e.isEmpty()) return;
        int regular = 0, nd = 0;
        for (ImageEvaluation ev : e) {
            regular += ev.regularGroundTruth;
            nd += Math.min(maxDet, ev.scores.length);
        }
        if (regular == 0) return; // the category has no ground truth in this area range: stays -1
        // concatenated in image order, then a stable sort by descending score (numpy's mergesort)
        double[] scores = new double[nd];
        int[] owner = new int[nd], index = new int[nd];
        int p = 0;
        for (int j = 0; j < e.size(); j++) {
            int keep = Math.min(maxDet, e.get(j).scores.length);
            for (int di = 0; di < keep; di++) {
                scores[p] = e.get(j).scores[di];
                owner[p] = j;
                index[p++] = di;
            }
        }
        Integer[] rank = new Integer[nd];
        for (int j = 0; j < nd; j++) rank[j] = j;
        // Arrays.sort on objects is stable (TimSort); compared with < and > so that 0.0 and -0.0 tie, as in numpy
        Arrays.sort(rank, (x, y) -> scores[x] > scores[y] ? -1 : scores[x] < scores[y] ? 1 : 0);
        double[] rc = new double[nd], pr = new double[nd];
        for (int ti = 0; ti < t; ti++) {
            double tp = 0, fp = 0;
            for (int j = 0; j < nd; j++) {
                ImageEvaluation ev = e.get(owner[rank[j]]);
                int di = index[rank[j]];
                if (!ev.ignored[ti][di]) {
                    if (ev.matched[ti][di]) tp++;
                    else fp++;
                }
                rc[j] = tp / regular;
                pr[j] = tp / (fp + tp + Math.ulp(1.0)); // np.spacing(1): no 0/0 before the first positive
            }
            recall[((ti * kk + k) * a + ai) * m + mi] = nd > 0 ? rc[nd - 1] : 0;
            for (int j = nd - 1; j > 0; j--) if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
            int j = 0;
            for (int ri = 0; ri < r; ri++) {
                while (j < nd && rc[j] < RECALL_THRESHOLDS[ri]) j++; // np.searchsorted(rc, recThrs, 'left')
                precision[(((ti * r + ri) * kk + k) * a + ai) * m + mi] = j < nd ? pr[j] : 0;
            }
        }
    }

    /** Best score first, equal scores in input order (numpy's mergesort on -score), at most {@code max}. */
    private static List<Dt> sortedByScore(List<Dt> d, int max) {
        List<Dt> s = new ArrayList<>(d);
        s.sort((x, y) -> x.score() > y.score() ? -1 : x.score() < y.score() ? 1 : 0);
        return s.size() > max ? s.subList(0, max) : s;
    }

    private int image(long imageId, String what) {
        Integer i = imageIndex.get(imageId);
        // pycocotools' loadRes: "Results do not correspond to current coco set"
        if (i == null) throw new IllegalArgumentException(what + " image_id " + imageId + " is not among the " + images.length + " images of the dataset");
        return i;
    }

    private static long[] sortedUnique(long[] ids, String what) {
        long[] s = ids.clone();
        Arrays.sort(s);
        for (int i = 1; i < s.length; i++) if (s[i] == s[i - 1]) throw new IllegalArgumentException(what + " id " + s[i] + " is listed twice");
        return s;
    }

    /** numpy's linspace with endpoint: {@code start + i * ((stop - start) / (num - 1))}, the last set to {@code stop}. */
    static double[] linspace(double start, double stop, int num) {
        double step = (stop - start) / (num - 1);
        double[] y = new double[num];
        for (int i = 0; i < num; i++) y[i] = i * step + start;
        y[num - 1] = stop;
        return y;
    }
}
