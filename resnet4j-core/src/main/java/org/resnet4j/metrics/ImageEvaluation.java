package org.resnet4j.metrics;

/**
 * One image, one category and one area range, matched as pycocotools' {@code
 * COCOeval.evaluateImg} matches them: for each IoU threshold, each detection (best score first)
 * takes the unmatched ground truth with the highest IoU not below the threshold; a crowd region
 * may be taken any number of times; ground truth outside the area range (and crowd regions) is
 * "ignored", sorted last, and taken only when no regular ground truth qualifies. A detection
 * matched to ignored ground truth is ignored; so is an unmatched detection outside the area range.
 */
final class ImageEvaluation {
    /** Scores of the detections kept (at most the largest maxDets), best first. */
    final double[] scores;
    /** [threshold][detection]: matched to some ground truth. */
    final boolean[][] matched;
    /** [threshold][detection]: neither a true nor a false positive. */
    final boolean[][] ignored;
    /** Ground truth that counts towards recall (not crowd, area inside the range). */
    final int regularGroundTruth;

    private ImageEvaluation(double[] scores, boolean[][] matched, boolean[][] ignored, int regularGroundTruth) {
        this.scores = scores;
        this.matched = matched;
        this.ignored = ignored;
        this.regularGroundTruth = regularGroundTruth;
    }

    /**
     * @param gtArea the ground truth's {@code area} fields, in input order
     * @param gtCrowd the ground truth's {@code iscrowd} flags
     * @param dtArea the detections' box areas, sorted best score first and already cut to maxDets
     * @param dtScore their scores, in the same order
     * @param ious [detection][ground truth] in those orders, or null when either side is empty
     */
    static ImageEvaluation evaluate(double[] gtArea, boolean[] gtCrowd, double[] dtArea, double[] dtScore,
            double[][] ious, double lo, double hi, double[] iouThresholds) {
        int g = gtArea.length, d = dtArea.length, t = iouThresholds.length;
        // pycocotools: gt['ignore'] = iscrowd; '_ignore' adds "area < lo or area > hi" (both bounds inclusive)
        boolean[] gtIgnoreInput = new boolean[g];
        int regular = 0;
        for (int j = 0; j < g; j++) {
            gtIgnoreInput[j] = gtCrowd[j] || gtArea[j] < lo || gtArea[j] > hi;
            if (!gtIgnoreInput[j]) regular++;
        }
        // ignored ground truth last, each group in input order (numpy's stable mergesort)
        int[] order = new int[g];
        int n = 0;
        for (int j = 0; j < g; j++) if (!gtIgnoreInput[j]) order[n++] = j;
        for (int j = 0; j < g; j++) if (gtIgnoreInput[j]) order[n++] = j;
        boolean[][] matched = new boolean[t][d];
        boolean[][] ignored = new boolean[t][d];
        if (ious != null) {
            for (int ti = 0; ti < t; ti++) {
                boolean[] gtTaken = new boolean[g];
                for (int di = 0; di < d; di++) {
                    double best = Math.min(iouThresholds[ti], 1 - 1e-10);
                    int m = -1; // position in `order` of the best match so far
                    for (int p = 0; p < g; p++) {
                        int gi = order[p];
                        if (gtTaken[p] && !gtCrowd[gi]) continue;
                        // matched to regular ground truth and only ignored ground truth is left: stop
                        if (m > -1 && !gtIgnoreInput[order[m]] && gtIgnoreInput[gi]) break;
                        if (ious[di][gi] < best) continue;
                        best = ious[di][gi];
                        m = p;
                    }
                    if (m == -1) continue;
                    ignored[ti][di] = gtIgnoreInput[order[m]];
                    matched[ti][di] = true;
                    gtTaken[m] = true;
                }
            }
        }
        for (int di = 0; di < d; di++) {
            if (dtArea[di] < lo || dtArea[di] > hi) {
                for (int ti = 0; ti < t; ti++) if (!matched[ti][di]) ignored[ti][di] = true;
            }
        }
        return new ImageEvaluation(dtScore, matched, ignored, regular);
    }

    /**
     * IoU of each detection with each ground-truth box, as pycocotools' {@code bbIou} (maskApi.c)
     * computes it in double: intersection over union, or over the detection's own area when the
     * ground truth is a crowd region (a detection inside the crowd counts as a full match).
     */
    static double[][] boxIou(CocoBox[] dt, CocoBox[] gt, boolean[] crowd) {
        double[][] o = new double[dt.length][gt.length];
        for (int g = 0; g < gt.length; g++) {
            CocoBox G = gt[g];
            double ga = G.width() * G.height();
            for (int d = 0; d < dt.length; d++) {
                CocoBox D = dt[d];
                double da = D.width() * D.height();
                double w = Math.min(D.width() + D.x(), G.width() + G.x()) - Math.max(D.x(), G.x());
                if (w <= 0) continue;
                double h = Math.min(D.height() + D.y(), G.height() + G.y()) - Math.max(D.y(), G.y());
                if (h <= 0) continue;
                double i = w * h;
                double u = crowd[g] ? da : da + ga - i;
                o[d][g] = i / u;
            }
        }
        return o;
    }
}
