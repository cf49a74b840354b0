package org.resnet4j.detection;

import java.util.LinkedHashMap;
import java.util.List;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.IndexSelectOp;
import org.resnet4j.autograd.ops.ReshapeOp;
import org.resnet4j.autograd.ops.ScaleOp;
import org.resnet4j.detection.ops.GeneralizedBoxIouLoss;
import org.resnet4j.detection.ops.Reduction;
import org.resnet4j.detection.ops.SigmoidFocalLoss;
import org.resnet4j.tensor.Tensor;

/**
 * torchvision 0.14's FCOS.compute_loss and FCOSHead.compute_loss (Tian et al. 2019, section 3):
 * which anchors are foreground and for which box, then the three losses.
 *
 * <p>Matching, per image, in float32 as torchvision: an anchor point (the anchor's centre) matches
 * a box when (1) it lies within {@code radius} anchor sizes of the box's centre in both x and y
 * (centre sampling, from the FCOS paper's later version: only points near the centre are
 * positive), (2) it lies strictly inside the box, and (3) the largest of its distances to the
 * box's four sides is in the level's range (size * 4, size * 8): (0, 64) on P3 and (512, inf) on
 * P7 with torchvision's sizes, the paper's m_i bounds (section 3.2), open at both ends; the first
 * level has no lower bound and the last no upper one. Of several matching boxes the one with the
 * smallest area wins (section 3.1's rule for ambiguous samples), as torchvision computes it:
 * argmax of match * (1e8 - area) in float32, so areas within float32's spacing of 1e8 tie and the
 * lower box index wins.
 *
 * <p>Losses, each divided by max(1, number of foreground anchors in the batch): sigmoid focal
 * loss (sum) of all anchors' class logits against one-hot targets (background: all zero); GIoU
 * loss (sum) of the foreground anchors' decoded boxes against their boxes; binary cross-entropy
 * with logits (sum) of the foreground anchors' centerness against sqrt(min(l, r) / max(l, r) *
 * min(t, b) / max(t, b)) of their box (eq. 3).
 */
final class FcosLoss {
    private FcosLoss() {}

    /** The matched box of every anchor, -1 for background. {@code anchors} [R, 4]; boxes in the resized image. */
    static int[] match(Tensor anchors, Tensor gtBoxes, int[] perLevel, float radius) {
        int r = anchors.dim(0), m = gtBoxes.dim(0);
        int[] matched = new int[r];
        java.util.Arrays.fill(matched, -1);
        if (m == 0) return matched;
        float[] a = anchors.data(), g = gtBoxes.data();
        float[] gcx = new float[m], gcy = new float[m], area = new float[m];
        for (int j = 0; j < m; j++) {
            gcx[j] = (g[4 * j] + g[4 * j + 2]) / 2f;
            gcy[j] = (g[4 * j + 1] + g[4 * j + 3]) / 2f;
            area[j] = (g[4 * j + 2] - g[4 * j]) * (g[4 * j + 3] - g[4 * j + 1]);
        }
        int firstEnd = perLevel[0], lastStart = r - perLevel[perLevel.length - 1];
        for (int i = 0; i < r; i++) {
            float x = (a[4 * i] + a[4 * i + 2]) / 2f, y = (a[4 * i + 1] + a[4 * i + 3]) / 2f;
            float size = a[4 * i + 2] - a[4 * i];
            float lower = i < firstEnd ? 0f : size * 4f, upper = i >= lastStart ? Float.POSITIVE_INFINITY : size * 8f;
            float best = 0f;
            int bestJ = 0;
            for (int j = 0; j < m; j++) {
                boolean near = Math.max(Math.abs(x - gcx[j]), Math.abs(y - gcy[j])) < radius * size;
                float l = x - g[4 * j], t = y - g[4 * j + 1], rr = g[4 * j + 2] - x, b = g[4 * j + 3] - y;
                boolean inside = Math.min(Math.min(l, t), Math.min(rr, b)) > 0f;
                float far = Math.max(Math.max(l, t), Math.max(rr, b));
                boolean inRange = far > lower && far < upper;
                float v = near && inside && inRange ? 1e8f - area[j] : 0f;
                if (v > best) { // torch.max(dim) returns the first of equal maxima
                    best = v;
                    bestJ = j;
                }
            }
            matched[i] = best < 1e-5f ? -1 : bestJ;
        }
        return matched;
    }

    /**
     * The rows (image * R + anchor) that the classification loss scores when crowd regions are
     * ignored: all but the background anchors whose point lies strictly inside a crowd box of
     * their image; null when no anchor is left out (the loss is then torchvision's as it is).
     */
    static int[] scoredRows(Tensor anchors, int[][] matched, List<Tensor> crowd) {
        int n = matched.length, r = anchors.dim(0);
        float[] a = anchors.data();
        int[] rows = new int[n * r];
        int kept = 0;
        for (int img = 0; img < n; img++) {
            Tensor c = img < crowd.size() ? crowd.get(img) : null;
            float[] g = c == null ? new float[0] : c.data();
            for (int i = 0; i < r; i++) {
                boolean ignore = false;
                if (matched[img][i] < 0) {
                    float x = (a[4 * i] + a[4 * i + 2]) / 2f, y = (a[4 * i + 1] + a[4 * i + 3]) / 2f;
                    for (int j = 0; j < g.length / 4 && !ignore; j++) {
                        ignore = x > g[4 * j] && x < g[4 * j + 2] && y > g[4 * j + 1] && y < g[4 * j + 3];
                    }
                }
                if (!ignore) rows[kept++] = img * r + i;
            }
        }
        return kept == n * r ? null : java.util.Arrays.copyOf(rows, kept);
    }

    private static Tensor rowsOf(Tensor t, int k, int[] index) {
        Tensor out = Tensor.zeros(index.length, k);
        for (int i = 0; i < index.length; i++) System.arraycopy(t.data(), index[i] * k, out.data(), i * k, k);
        return out;
    }

    /**
     * The loss dict {classification, bbox_regression, bbox_ctrness} of the head's outputs
     * ({@code cls} [N, R, K], {@code reg} [N, R, 4], {@code ctr} [N, R, 1]) for resized targets;
     * {@code crowd} (null for none): per image the resized crowd boxes whose background anchors
     * the classification loss leaves out ({@link #scoredRows}).
     */
    static LinkedHashMap<String, Variable> compute(Variable cls, Variable reg, Variable ctr, Tensor anchors, int[] perLevel,
                                                   List<DetectionTarget> targets, List<Tensor> crowd, float radius, BoxLinearCoder coder) {
        int n = cls.shape()[0], r = cls.shape()[1], k = cls.shape()[2];
        Tensor clsTargets = Tensor.zeros(n, r, k);
        int fg = 0;
        int[][] matched = new int[n][];
        for (int img = 0; img < n; img++) {
            matched[img] = match(anchors, targets.get(img).boxes(), perLevel, radius);
            for (int i = 0; i < r; i++) if (matched[img][i] >= 0) fg++;
        }
        int[] rows = new int[fg];
        Tensor fgAnchors = Tensor.zeros(fg, 4), fgBoxes = Tensor.zeros(fg, 4);
        int at = 0;
        for (int img = 0; img < n; img++) {
            DetectionTarget t = targets.get(img);
            for (int i = 0; i < r; i++) {
                int j = matched[img][i];
                if (j < 0) continue;
                clsTargets.data()[(img * r + i) * k + t.labels()[j]] = 1f;
                rows[at] = img * r + i;
                System.arraycopy(anchors.data(), 4 * i, fgAnchors.data(), 4 * at, 4);
                System.arraycopy(t.boxes().data(), 4 * j, fgBoxes.data(), 4 * at, 4);
                at++;
            }
        }
        float norm = 1f / Math.max(1, fg);
        int[] scored = crowd == null ? null : scoredRows(anchors, matched, crowd);
        Variable lossCls = scored == null ? SigmoidFocalLoss.apply(cls, Variable.constant(clsTargets), Reduction.SUM)
                : SigmoidFocalLoss.apply(IndexSelectOp.apply(ReshapeOp.apply(cls, n * r, k), scored),
                        Variable.constant(rowsOf(clsTargets, k, scored)), Reduction.SUM);
        // GIoU of the foreground anchors' decoded boxes (FCOSHead decodes all anchors, then selects: the same values)
        Variable fgCodes = IndexSelectOp.apply(ReshapeOp.apply(reg, n * r, 4), rows);
        Variable lossBox = GeneralizedBoxIouLoss.apply(coder.decode(fgCodes, fgAnchors), Variable.constant(fgBoxes), Reduction.SUM);
        // centerness targets from the box's distances to the anchor point; BCE with logits is the focal
        // loss with gamma 0 and no alpha weight: max(x, 0) - x t + log(1 + exp(-|x|)), as PyTorch's
        Tensor enc = coder.encode(fgAnchors, fgBoxes);
        Tensor ctrTargets = Tensor.zeros(fg);
        float[] e = enc.data();
        for (int i = 0; i < fg; i++) {
            float l = e[4 * i], t = e[4 * i + 1], rr = e[4 * i + 2], b = e[4 * i + 3];
            ctrTargets.data()[i] = (float) Math.sqrt((Math.min(l, rr) / Math.max(l, rr)) * (Math.min(t, b) / Math.max(t, b)));
        }
        Variable fgCtr = IndexSelectOp.apply(ReshapeOp.apply(ctr, n * r), rows);
        Variable lossCtr = SigmoidFocalLoss.apply(fgCtr, Variable.constant(ctrTargets), -1f, 0f, Reduction.SUM);
        LinkedHashMap<String, Variable> out = new LinkedHashMap<>();
        out.put("classification", ScaleOp.apply(lossCls, norm));
        out.put("bbox_regression", ScaleOp.apply(lossBox, norm));
        out.put("bbox_ctrness", ScaleOp.apply(lossCtr, norm));
        return out;
    }
}
