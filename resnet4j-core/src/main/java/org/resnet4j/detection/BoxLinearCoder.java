package org.resnet4j.detection;

import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.Variable;
import org.resnet4j.tensor.Tensor;

/**
 * torchvision's BoxLinearCoder (models/detection/_utils.py), FCOS's box parameterization (Tian et
 * al. 2019, eq. 1): a box is the distances (l, t, r, b) from the anchor's centre to its four
 * sides, divided by the anchor's width / height when {@code normalizeBySize} (torchvision's FCOS
 * uses True, so every level regresses numbers of the same scale). In float32 in torchvision's
 * order of operations: centre = 0.5 * (x1 + x2), code * size, then centre -/+ it.
 */
public final class BoxLinearCoder {
    private final boolean normalizeBySize;

    public BoxLinearCoder(boolean normalizeBySize) {
        this.normalizeBySize = normalizeBySize;
    }

    /** encode(reference_boxes, proposals): the (l, t, r, b) of each proposal from its reference box's centre, [..., 4]. */
    public Tensor encode(Tensor referenceBoxes, Tensor proposals) {
        check("encode", referenceBoxes, proposals);
        Tensor out = Tensor.zeros(proposals.shape());
        float[] r = referenceBoxes.data(), p = proposals.data(), d = out.data();
        for (int o = 0; o < d.length; o += 4) {
            float cx = 0.5f * (r[o] + r[o + 2]), cy = 0.5f * (r[o + 1] + r[o + 3]);
            d[o] = cx - p[o];
            d[o + 1] = cy - p[o + 1];
            d[o + 2] = p[o + 2] - cx;
            d[o + 3] = p[o + 3] - cy;
            if (normalizeBySize) {
                float w = r[o + 2] - r[o], h = r[o + 3] - r[o + 1];
                d[o] /= w;
                d[o + 1] /= h;
                d[o + 2] /= w;
                d[o + 3] /= h;
            }
        }
        return out;
    }

    /** decode(rel_codes, boxes): the boxes (x1, y1, x2, y2) the codes describe around the reference boxes, [..., 4]. */
    public Tensor decode(Tensor relCodes, Tensor boxes) {
        check("decode", boxes, relCodes);
        Tensor out = Tensor.zeros(relCodes.shape());
        float[] c = relCodes.data(), b = boxes.data(), d = out.data();
        for (int o = 0; o < d.length; o += 4) {
            float cx = 0.5f * (b[o] + b[o + 2]), cy = 0.5f * (b[o + 1] + b[o + 3]);
            float w = normalizeBySize ? b[o + 2] - b[o] : 1f, h = normalizeBySize ? b[o + 3] - b[o + 1] : 1f;
            d[o] = cx - c[o] * w;
            d[o + 1] = cy - c[o + 1] * h;
            d[o + 2] = cx + c[o + 2] * w;
            d[o + 3] = cy + c[o + 3] * h;
        }
        return out;
    }

    /**
     * decode with a gradient to the codes (the reference boxes are constants): each coordinate is
     * centre -/+ code * size, so d(box)/d(code) is -size, -size, +size, +size per side. FCOS's
     * loss decodes the predicted distances this way before the GIoU loss.
     */
    public Variable decode(Variable relCodes, Tensor boxes) {
        Tensor y = decode(relCodes.value(), boxes);
        float[] b = boxes.data();
        int[] shape = relCodes.shape();
        return Node.record(y, () -> new Node(relCodes) {
            @Override
            protected void backward(Tensor dy) {
                Tensor dx = Tensor.zeros(shape);
                float[] g = dy.data(), d = dx.data();
                for (int o = 0; o < d.length; o += 4) {
                    float w = normalizeBySize ? b[o + 2] - b[o] : 1f, h = normalizeBySize ? b[o + 3] - b[o + 1] : 1f;
                    d[o] = -g[o] * w;
                    d[o + 1] = -g[o + 1] * h;
                    d[o + 2] = g[o + 2] * w;
                    d[o + 3] = g[o + 3] * h;
                }
                inputs()[0].addGradOwned(dx);
            }
        }, relCodes);
    }

    private static void check(String op, Tensor boxes, Tensor codes) {
        if (codes.rank() < 1 || codes.dim(codes.rank() - 1) != 4 || !codes.sameShape(boxes)) {
            throw new IllegalArgumentException("BoxLinearCoder." + op + ": boxes " + boxes.shapeString() + " and codes "
                    + codes.shapeString() + " must both be [..., 4] of the same shape");
        }
    }
}
