package org.resnet4j.autograd.ops;

import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.OpProfile;
import org.resnet4j.autograd.Variable;
import org.resnet4j.kernels.Parallel;
import org.resnet4j.tensor.Tensor;

/**
 * torch.nn.functional.interpolate to an output size, modes "nearest" (src = floor(dst * in/out), see {@link #nearestSource})
 * and "bilinear" with align_corners=False (src = (dst + 0.5) * in/out - 0.5, clamped at 0).
 * Both are linear maps, so backward scatters dy with the same weights.
 */
public final class UpsampleOp {
    private UpsampleOp() {}

    public enum Mode { NEAREST, BILINEAR }

    /** Source taps along one axis: index pairs (i0, i1) and weight of i1, per output position. */
    private record Taps(int[] i0, int[] i1, float[] w1) {
        static Taps of(Mode mode, int in, int out) {
            int[] a = new int[out], b = new int[out];
            float[] w = new float[out];
            double scale = (double) in / out;
            for (int o = 0; o < out; o++) {
                if (mode == Mode.NEAREST) {
                    a[o] = b[o] = nearestSource(o, in, out);
                } else {
                    double src = Math.max((o + 0.5) * scale - 0.5, 0.0);
                    int i = Math.min((int) Math.floor(src), in - 1);
                    a[o] = i;
                    b[o] = Math.min(i + 1, in - 1);
                    w[o] = (float) (src - i);
                }
            }
            return new Taps(a, b, w);
        }
    }

    /**
     * PyTorch's nearest_idx (aten UpSample.h): the same size copies, twice the size takes o / 2,
     * any other size floor(o * scale) with scale = in / out and the product in float32, as ATen
     * computes it. In float64 some sources land one higher (2 -> 82: 41 * (2/82) is 1.0 in float64
     * but 0.99999994 in float32, so PyTorch takes source 0), so the float arithmetic is part of the
     * semantics.
     */
    static int nearestSource(int o, int in, int out) {
        if (out == in) return o;
        if (out == 2 * in) return o >> 1;
        float scale = (float) in / out;
        return Math.min((int) Math.floor(o * scale), in - 1);
    }

    public static Variable apply(Variable x, int oh, int ow, Mode mode) {
        int[] s = x.shape();
        if (s.length != 4) throw new IllegalArgumentException("interpolate expects NCHW input, got " + x.value().shapeString());
        if (oh < 1 || ow < 1) throw new IllegalArgumentException("interpolate: output size must be >= 1, got " + oh + "x" + ow);
        int[] outShape = {s[0], s[1], oh, ow};
        if (x.isMeta()) return Variable.constant(Tensor.meta(outShape));
        int h = s[2], w = s[3], planes = s[0] * s[1];
        Taps ty = Taps.of(mode, h, oh), tx = Taps.of(mode, w, ow);
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
