package org.resnet4j.metrics;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a COCO box evaluation produced: pycocotools' {@code eval['precision']} ([IoU threshold,
 * recall threshold, category, area range, maxDets]) and {@code eval['recall']}, its 12 summary
 * numbers ({@code COCOeval.stats}) and its printed summary. A value of -1 means "no ground truth"
 * (for a category and area range), as in pycocotools.
 */
public final class CocoResult {
    /** Area range labels in pycocotools' order. */
    private static final String[] AREAS = {"all", "small", "medium", "large"};
    private static final int[] MAX_DETS = {1, 10, 100};
    private static final int T = 10, R = 101, A = 4, M = 3;

    private final long[] categories;
    private final double[] precision;
    private final double[] recall;
    private final int droppedDetections;
    private final double[] stats;

    CocoResult(long[] categories, double[] precision, double[] recall, int droppedDetections) {
        this.categories = categories;
        this.precision = precision;
        this.recall = recall;
        this.droppedDetections = droppedDetections;
        // pycocotools' _summarizeDets, in its order; IoU .50 and .75 are thresholds 0 and 5
        stats = new double[] {
            mean(true, -1, 0, 2), mean(true, 0, 0, 2), mean(true, 5, 0, 2),
            mean(true, -1, 1, 2), mean(true, -1, 2, 2), mean(true, -1, 3, 2),
            mean(false, -1, 0, 0), mean(false, -1, 0, 1), mean(false, -1, 0, 2),
            mean(false, -1, 1, 2), mean(false, -1, 2, 2), mean(false, -1, 3, 2)};
    }

    /**
     * The 12 numbers in pycocotools' order: AP at IoU .50:.95, .50, .75, AP small, medium, large
     * (maxDets 100), AR at maxDets 1, 10, 100, AR small, medium, large (maxDets 100); -1 where no
     * ground truth exists for any category.
     */
    public double[] stats() {
        return stats.clone();
    }

    /** AP at IoU .50:.95, all areas, maxDets 100: the headline COCO number ({@code stats[0]}). */
    public double ap() {
        return stats[0];
    }

    /** AP at IoU .50 ({@code stats[1]}). */
    public double ap50() {
        return stats[1];
    }

    /** AP at IoU .75 ({@code stats[2]}). */
    public double ap75() {
        return stats[2];
    }

    /** The category ids, sorted: the order of the category index. */
    public long[] categoryIds() {
        return categories.clone();
    }

    /**
     * AP per category id (IoU .50:.95, all areas, maxDets 100: the mean of that category's
     * precision entries, as Detectron2 reports it), -1 for a category without ground truth.
     */
    public Map<Long, Double> apPerCategory() {
        Map<Long, Double> out = new LinkedHashMap<>();
        double[] kept = new double[T * R];
        for (int k = 0; k < categories.length; k++) {
            int n = 0;
            for (int t = 0; t < T; t++) {
                for (int r = 0; r < R; r++) {
                    double v = precision(t, r, k, 0, 2);
                    if (v > -1) kept[n++] = v;
                }
            }
            out.put(categories[k], n == 0 ? -1.0 : NumpyMean.mean(kept, n));
        }
        return out;
    }

    /** {@code eval['precision'][t, r, k, a, m]}: interpolated precision, -1 without ground truth. */
    public double precision(int iouThreshold, int recallThreshold, int category, int area, int maxDets) {
        return precision[index(iouThreshold, T, "IoU threshold") * R * categories.length * A * M
                + index(recallThreshold, R, "recall threshold") * categories.length * A * M
                + index(category, categories.length, "category") * A * M
                + index(area, A, "area range") * M + index(maxDets, M, "maxDets")];
    }

    /** {@code eval['recall'][t, k, a, m]}: the recall reached, -1 without ground truth. */
    public double recall(int iouThreshold, int category, int area, int maxDets) {
        return recall[index(iouThreshold, T, "IoU threshold") * categories.length * A * M
                + index(category, categories.length, "category") * A * M
                + index(area, A, "area range") * M + index(maxDets, M, "maxDets")];
    }

    /** Detections dropped because their category is not among the dataset's. */
    public int droppedDetections() {
        return droppedDetections;
    }

    /** The 12 lines {@code COCOeval.summarize()} prints, each ending in a newline. */
    public String summary() {
        StringBuilder sb = new StringBuilder();
        String[] iou = {"0.50:0.95", "0.50", "0.75", "0.50:0.95", "0.50:0.95", "0.50:0.95"};
        int[] area = {0, 0, 0, 1, 2, 3, 0, 0, 0, 1, 2, 3};
        int[] maxDets = {2, 2, 2, 2, 2, 2, 0, 1, 2, 2, 2, 2};
        for (int i = 0; i < 12; i++) {
            boolean ap = i < 6;
            // ' {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}'
            sb.append(String.format(" %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %s\n",
                    ap ? "Average Precision" : "Average Recall", ap ? "(AP)" : "(AR)",
                    ap ? iou[i] : "0.50:0.95", AREAS[area[i]], MAX_DETS[maxDets[i]], PyFormat.fixed(stats[i], 3)));
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return summary();
    }

    /**
     * pycocotools' {@code _summarize}: {@code np.mean} of the entries above -1 over every IoU threshold
     * (or one), every recall threshold (for AP) and every category, at one area range and
     * maxDets; -1 when there is none.
     */
    private double mean(boolean ap, int iouThreshold, int area, int maxDets) {
        int kk = categories.length;
        double[] kept = new double[T * R * kk];
        int n = 0;
        for (int t = 0; t < T; t++) {
            if (iouThreshold >= 0 && t != iouThreshold) continue;
            // summed in numpy's flattening order (threshold, recall threshold, category)
            for (int r = 0; r < (ap ? R : 1); r++) {
                for (int k = 0; k < kk; k++) {
                    double v = ap ? precision[(((t * R + r) * kk + k) * A + area) * M + maxDets]
                            : recall[((t * kk + k) * A + area) * M + maxDets];
                    if (v > -1) kept[n++] = v;
                }
            }
        }
        return n == 0 ? -1 : NumpyMean.mean(kept, n);
    }

    private static int index(int i, int n, String what) {
        if (i < 0 || i >= n) throw new IndexOutOfBoundsException(what + " index " + i + " is outside [0, " + n + ")");
        return i;
    }
}
