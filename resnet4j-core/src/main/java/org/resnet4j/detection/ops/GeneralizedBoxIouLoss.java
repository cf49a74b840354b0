package org.resnet4j.detection.ops;

import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.Variable;
import org.resnet4j.tensor.Tensor;

/**
 * torchvision.ops.generalized_box_iou_loss (Rezatofighi et al. 2019, "Generalized Intersection
 * over Union"): for each pair of boxes, loss = 1 - GIoU with GIoU = IoU - (C - U) / C, C the area
 * of the smallest box enclosing both and U their union. Unlike 1 - IoU it still has a gradient
 * for disjoint boxes, which is why FCOS regresses boxes with it (Tian et al. 2019). As torchvision
 * (after fvcore): the intersection counts only where both overlaps are strictly positive, and eps
 * (1e-7) is added to both denominators, IoU = I / (U + eps) and (C - U) / (C + eps).
 *
 * <p>Boxes [..., 4] (x1, y1, x2, y2), both of the same shape; the loss has the shape less the
 * last axis (reduction none) or is 0-d. Backward goes through min and max as torch.minimum and
 * torch.maximum do: to the larger (smaller) argument, half to each when they are equal. Computed
 * in double per pair.
 */
public final class GeneralizedBoxIouLoss {
    private GeneralizedBoxIouLoss() {}

    /** The default eps of torchvision's generalized_box_iou_loss. */
    public static final float DEFAULT_EPS = 1e-7f;

    public static Variable apply(Variable boxes1, Variable boxes2, Reduction reduction) {
        return apply(boxes1, boxes2, reduction, DEFAULT_EPS);
    }

    public static Variable apply(Variable boxes1, Variable boxes2, Reduction reduction, float eps) {
        int[] s = boxes1.shape();
        if (s.length < 1 || s[s.length - 1] != 4) {
            throw new IllegalArgumentException("generalized_box_iou_loss: boxes1 must be [..., 4] (x1, y1, x2, y2), got "
                    + boxes1.value().shapeString());
        }
        if (!boxes1.value().sameShape(boxes2.value())) {
            throw new IllegalArgumentException("generalized_box_iou_loss: boxes2 " + boxes2.value().shapeString()
                    + " must have the shape of boxes1 " + boxes1.value().shapeString());
        }
        int n = boxes1.value().size() / 4;
        float[] a = boxes1.value().data(), b = boxes2.value().data();
        double[] loss = new double[n];
        for (int i = 0; i < n; i++) loss[i] = pair(a, b, i, eps, 0, null, null);
        Tensor out = LossReduction.reduce(loss, java.util.Arrays.copyOf(s, s.length - 1), reduction, true);
        return Node.record(out, () -> new Node(boxes1, boxes2) {
            @Override
            protected void backward(Tensor dy) {
                double[] g = LossReduction.perElement(dy, n, reduction);
                float[] ga = new float[4 * n], gb = new float[4 * n];
                for (int i = 0; i < n; i++) pair(a, b, i, eps, g[i], ga, gb);
                if (needs(0)) inputs()[0].addGradOwned(Tensor.of(ga, s));
                if (needs(1)) inputs()[1].addGradOwned(Tensor.of(gb, s));
            }
        }, boxes1, boxes2);
    }

    /**
     * The loss of pair i; with {@code ga} non-null, also writes d(loss)/d(box) times {@code gl}
     * into ga and gb (the forward's quantities recomputed, a few flops per pair).
     */
    private static double pair(float[] a, float[] b, int i, double eps, double gl, float[] ga, float[] gb) {
        int o = 4 * i;
        double x1 = a[o], y1 = a[o + 1], x2 = a[o + 2], y2 = a[o + 3];
        double u1 = b[o], v1 = b[o + 1], u2 = b[o + 2], v2 = b[o + 3];
        double ix1 = Math.max(x1, u1), iy1 = Math.max(y1, v1), ix2 = Math.min(x2, u2), iy2 = Math.min(y2, v2);
        boolean overlap = iy2 > iy1 && ix2 > ix1;
        double iw = ix2 - ix1, ih = iy2 - iy1, inter = overlap ? iw * ih : 0;
        double areaA = (x2 - x1) * (y2 - y1), areaB = (u2 - u1) * (v2 - v1);
        double union = areaA + areaB - inter, iou = inter / (union + eps);
        double cx1 = Math.min(x1, u1), cy1 = Math.min(y1, v1), cx2 = Math.max(x2, u2), cy2 = Math.max(y2, v2);
        double cw = cx2 - cx1, ch = cy2 - cy1, areaC = cw * ch;
        double loss = 1 - (iou - (areaC - union) / (areaC + eps));
        if (ga == null) return loss;
        // loss = 1 - iou + (C - U) / (C + eps), iou = I / (U + eps), U = A + B - I
        double gIou = -gl;
        double gC = gl * (union + eps) / ((areaC + eps) * (areaC + eps));
        double gU = -gl / (areaC + eps) - gIou * inter / ((union + eps) * (union + eps));
        double gI = gIou / (union + eps) - gU;
        // U through the two areas
        add(ga, o, -gU * (y2 - y1), -gU * (x2 - x1), gU * (y2 - y1), gU * (x2 - x1));
        add(gb, o, -gU * (v2 - v1), -gU * (u2 - u1), gU * (v2 - v1), gU * (u2 - u1));
        if (overlap) { // I = (min(x2, u2) - max(x1, u1)) * (min(y2, v2) - max(y1, v1))
            route(ga, gb, o, x1, u1, -gI * ih, true);
            route(ga, gb, o + 1, y1, v1, -gI * iw, true);
            route(ga, gb, o + 2, x2, u2, gI * ih, false);
            route(ga, gb, o + 3, y2, v2, gI * iw, false);
        }
        // C = (max(x2, u2) - min(x1, u1)) * (max(y2, v2) - min(y1, v1))
        route(ga, gb, o, x1, u1, -gC * ch, false);
        route(ga, gb, o + 1, y1, v1, -gC * cw, false);
        route(ga, gb, o + 2, x2, u2, gC * ch, true);
        route(ga, gb, o + 3, y2, v2, gC * cw, true);
        return loss;
    }

    private static void add(float[] g, int o, double d0, double d1, double d2, double d3) {
        g[o] += (float) d0;
        g[o + 1] += (float) d1;
        g[o + 2] += (float) d2;
        g[o + 3] += (float) d3;
    }

    /** The gradient of max(p, q) ({@code max}) or min(p, q) to the argument it took, split in half on a tie. */
    private static void route(float[] ga, float[] gb, int k, double p, double q, double g, boolean max) {
        if (p == q) {
            ga[k] += (float) (g / 2);
            gb[k] += (float) (g / 2);
        } else if ((p > q) == max) {
            ga[k] += (float) g;
        } else {
            gb[k] += (float) g;
        }
    }
}
