package org.resnet4j.autograd.ops;

import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.OpProfile;
import org.resnet4j.autograd.Variable;
import org.resnet4j.kernels.Parallel;
import org.resnet4j.tensor.Tensor;

/**
 * torch.nn.functional.interpolate over NCHW, to an output size or by a scale factor, modes
 * "nearest" and "bilinear", the latter with align_corners False or True. The source index of an
 * output position follows PyTorch's rule (aten UpSample.h, area_pixel_compute_source_index):
 * with align_corners=False, src = (dst + 0.5) * r - 0.5 clamped at 0, where r = 1/scale_factor
 * when a scale factor is given and in/out otherwise; with align_corners=True, src = dst * (in-1)/(out-1)
 * (0 for a single output), so the corner pixels of input and output coincide. "nearest" takes
 * floor(dst * r) in float, as PyTorch. Both modes are linear maps, so backward scatters dy with
 * the same weights.
 */
public final class UpsampleOp {
    private UpsampleOp() {}

    public enum Mode { NEAREST, BILINEAR }

    /** Source taps along one axis: index pairs (i0, i1) and weight of i1, per output position. */
    private record Taps(int[] i0, int[] i1, float[] w1) {
        /** {@code scale}: the user's scale factor, or 0 when an output size was given. */
        static Taps of(Mode mode, int in, int out, boolean alignCorners, double scale) {
            int[] a = new int[out], b = new int[out];
            float[] w = new float[out];
            if (mode == Mode.NEAREST) {
                // aten nearest_idx: the same size copies, twice the size halves, else floorf(dst * r) in
                // float32, r as aten's compute_scales_value: (float) (1 / scale), or (float) in / out divided
                // in float. The float arithmetic is part of the semantics: 2 -> 82 in float64 takes
                // source 1 at o = 41 (41 * 2/82 = 1.0), PyTorch source 0 (0.99999994).
                float r = scale > 0 ? (float) (1.0 / scale) : (float) in / out;
                for (int o = 0; o < out; o++) {
                    int i = out == in ? o : out == 2 * in ? o >> 1 : (int) Math.floor((float) o * r);
                    a[o] = b[o] = Math.min(i, in - 1);
                }
                return new Taps(a, b, w);
            }
            double r = alignCorners ? (out > 1 ? (double) (in - 1) / (out - 1) : 0.0)
                    : scale > 0 ? 1.0 / scale : (double) in / out;
            for (int o = 0; o < out; o++) {
                double src = alignCorners ? r * o : Math.max((o + 0.5) * r - 0.5, 0.0);
                int i = Math.min((int) Math.floor(src), in - 1);
                a[o] = i;
                b[o] = Math.min(i + 1, in - 1);
                w[o] = (float) (src - i);
            }
            return new Taps(a, b, w);
        }
    }

    /** interpolate(x, size=(oh, ow), mode), align_corners=False for bilinear. */
    public static Variable apply(Variable x, int oh, int ow, Mode mode) {
        return apply(x, oh, ow, mode, false);
    }

    /** interpolate(x, size=(oh, ow), mode, align_corners); align_corners=True needs bilinear, as in PyTorch. */
    public static Variable apply(Variable x, int oh, int ow, Mode mode, boolean alignCorners) {
        int[] s = nchw(x);
        if (oh < 1 || ow < 1) throw new IllegalArgumentException("interpolate: output size must be >= 1, got " + oh + "x" + ow);
        return interpolate(x, s, oh, ow, mode, alignCorners, 0, 0);
    }

    /**
     * interpolate(x, scale_factor=(sh, sw), mode, align_corners) with recompute_scale_factor unset:
     * the output is floor(in * scale) and, with align_corners=False, the source index uses 1/scale
     * itself rather than in/out (they differ when in * scale is not whole).
     */
    public static Variable applyScale(Variable x, double scaleH, double scaleW, Mode mode, boolean alignCorners) {
        int[] s = nchw(x);
        if (!(scaleH > 0) || !(scaleW > 0) || Double.isInfinite(scaleH) || Double.isInfinite(scaleW)) {
            throw new IllegalArgumentException("interpolate: scale factors must be positive and finite, got " + scaleH + ", " + scaleW);
        }
        int oh = (int) Math.floor(s[2] * scaleH), ow = (int) Math.floor(s[3] * scaleW);
        if (oh < 1 || ow < 1) {
            throw new IllegalArgumentException("interpolate: scale " + scaleH + "x" + scaleW + " of " + x.value().shapeString()
                    + " gives an empty output " + oh + "x" + ow);
        }
        return interpolate(x, s, oh, ow, mode, alignCorners, scaleH, scaleW);
    }

    private static int[] nchw(Variable x) {
        int[] s = x.shape();
        if (s.length != 4) throw new IllegalArgumentException("interpolate expects NCHW input, got " + x.value().shapeString());
        return s;
    }

    private static Variable interpolate(Variable x, int[] s, int oh, int ow, Mode mode, boolean alignCorners, double sh, double sw) {
        if (alignCorners && mode == Mode.NEAREST) {
            throw new IllegalArgumentException("interpolate: align_corners applies to bilinear only, not nearest (as PyTorch)");
        }
        int[] outShape = {s[0], s[1], oh, ow};
        if (x.isMeta()) return Variable.constant(Tensor.meta(outShape));
        int h = s[2], w = s[3], planes = s[0] * s[1];
        Taps ty = Taps.of(mode, h, oh, alignCorners, sh), tx = Taps.of(mode, w, ow, alignCorners, sw);
        long t0 = OpProfile.now();
        Tensor y = Tensor.zeros(outShape);
        float[] xd = x.value().data(), yd = y.data();
        Parallel.forRange(planes, 4, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int in = p * h * w, out = p * oh * ow;
                for (int oy = 0; oy < oh; oy++) {
                    float wy = ty.w1[oy];
                    int r0 = in + ty.i0[oy] * w, r1 = in + ty.i1[oy] * w;
                    for (int ox = 0; ox < ow; ox++) {
                        float wx = tx.w1[ox];
                        int c0 = tx.i0[ox], c1 = tx.i1[ox];
                        float top = xd[r0 + c0] * (1 - wx) + xd[r0 + c1] * wx;
                        float bot = xd[r1 + c0] * (1 - wx) + xd[r1 + c1] * wx;
                        yd[out + oy * ow + ox] = top * (1 - wy) + bot * wy;
                    }
                }
            }
        });
        OpProfile.add("UpsampleOp fwd", 0, t0);
        return Node.record(y, () -> new Node(x) {
            @Override
            protected void backward(Tensor dy) {
                Tensor dx = Tensor.zeros(s);
                float[] g = dy.data(), d = dx.data();
                Parallel.forRange(planes, 4, (p0, p1) -> {
                    for (int p = p0; p < p1; p++) {
                        int in = p * h * w, out = p * oh * ow;
                        for (int oy = 0; oy < oh; oy++) {
                            float wy = ty.w1[oy];
                            int r0 = in + ty.i0[oy] * w, r1 = in + ty.i1[oy] * w;
                            for (int ox = 0; ox < ow; ox++) {
                                float wx = tx.w1[ox], v = g[out + oy * ow + ox];
                                int c0 = tx.i0[ox], c1 = tx.i1[ox];
                                d[r0 + c0] += v * (1 - wy) * (1 - wx);
                                d[r0 + c1] += v * (1 - wy) * wx;
                                d[r1 + c0] += v * wy * (1 - wx);
                                d[r1 + c1] += v * wy * wx;
                            }
                        }
                    }
                });
                inputs()[0].addGradOwned(dx);
            }
        }, x);
    }
}
