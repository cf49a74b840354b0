package org.resnet4j.autograd.ops;

import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.OpProfile;
import org.resnet4j.autograd.Variable;
import org.resnet4j.kernels.Parallel;
import org.resnet4j.tensor.Tensor;

/**
 * torch.nn.functional.group_norm (Wu and He 2018, "Group Normalization"): the C channels of each
 * sample are split into G groups of C/G consecutive channels, and each (sample, group) is
 * normalized over its channels and positions with its own mean and biased variance,
 * y = (x - mean) / sqrt(var + eps) * weight[c] + bias[c]. No batch statistics, so it behaves the
 * same in training and eval and at any batch size, which is why FCOS's head uses it (Tian et al.
 * 2019). Input [N, C, *]; weight and bias [C], or null for affine=False. Statistics are summed in
 * double; backward recomputes x-hat from the saved input, mean and 1/std.
 */
public final class GroupNormOp {
    private GroupNormOp() {}

    public static Variable apply(Variable x, int groups, Variable weight, Variable bias, float eps) {
        int[] s = x.shape();
        if (s.length < 2) throw new IllegalArgumentException("group_norm expects [N, C, *] input, got " + x.value().shapeString());
        int n = s[0], c = s[1];
        if (groups < 1 || c % groups != 0) {
            throw new IllegalArgumentException("group_norm: " + groups + " groups do not divide the " + c + " channels of input "
                    + x.value().shapeString());
        }
        checkAffine("weight", weight, c);
        checkAffine("bias", bias, c);
        if (!(eps >= 0f)) throw new IllegalArgumentException("group_norm: eps must be >= 0, got " + eps);
        if (x.isMeta()) return Variable.constant(Tensor.meta(s));
        int hw = 1;
        for (int i = 2; i < s.length; i++) hw *= s[i];
        int cg = c / groups, span = cg * hw, planes = n * groups, spatial = hw;
        long t0 = OpProfile.now();
        float[] xd = x.value().data();
        float[] wd = weight == null ? null : weight.value().data(), bd = bias == null ? null : bias.value().data();
        float[] mean = new float[planes], rstd = new float[planes];
        Tensor y = Tensor.zeros(s);
        float[] yd = y.data();
        Parallel.forRange(planes, 1, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int off = p * span;
                double sum = 0;
                for (int i = 0; i < span; i++) sum += xd[off + i];
                double m = sum / span, ss = 0;
                for (int i = 0; i < span; i++) {
                    double d = xd[off + i] - m;
                    ss += d * d;
                }
                double r = 1.0 / Math.sqrt(ss / span + eps); // biased variance, as PyTorch
                mean[p] = (float) m;
                rstd[p] = (float) r;
                int c0 = (p % groups) * cg;
                for (int j = 0; j < cg; j++) {
                    double a = wd == null ? r : r * wd[c0 + j], b = (bd == null ? 0 : bd[c0 + j]) - m * a;
                    int o = off + j * spatial;
                    for (int i = 0; i < spatial; i++) yd[o + i] = (float) (xd[o + i] * a + b);
                }
            }
        });
        OpProfile.add("GroupNormOp fwd", 0, t0);
        Tensor xv = x.value();
        return Node.record(y, () -> new Node(x, weight, bias) {
            @Override
            protected void backward(Tensor dy) {
                float[] g = dy.data(), xs = xv.data();
                Tensor dx = needs(0) ? Tensor.zeros(s) : null;
                double[] dw = new double[c], db = new double[c];
                // per (sample, group): dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),
                // dxhat = dy * weight; the parameter sums are per (sample, channel), added up after
                double[][] dwPart = new double[planes][cg], dbPart = new double[planes][cg];
                Parallel.forRange(planes, 1, (p0, p1) -> {
                    for (int p = p0; p < p1; p++) {
                        int off = p * span, c0 = (p % groups) * cg;
                        double m = mean[p], r = rstd[p], sumD = 0, sumDX = 0;
                        for (int j = 0; j < cg; j++) {
                            double w = wd == null ? 1 : wd[c0 + j], pw = 0, pb = 0;
                            int o = off + j * spatial;
                            for (int i = 0; i < spatial; i++) {
                                double xh = (xs[o + i] - m) * r, gi = g[o + i];
                                pw += gi * xh;
                                pb += gi;
                                sumD += gi * w;
                                sumDX += gi * w * xh;
                            }
                            dwPart[p][j] = pw;
                            dbPart[p][j] = pb;
                        }
                        if (dx == null) continue;
                        float[] d = dx.data();
                        double mD = sumD / span, mDX = sumDX / span;
                        for (int j = 0; j < cg; j++) {
                            double w = wd == null ? 1 : wd[c0 + j];
                            int o = off + j * spatial;
                            for (int i = 0; i < spatial; i++) {
                                double xh = (xs[o + i] - m) * r;
                                d[o + i] = (float) (r * (g[o + i] * w - mD - xh * mDX));
                            }
                        }
                    }
                });
                for (int p = 0; p < planes; p++) {
                    int c0 = (p % groups) * cg;
                    for (int j = 0; j < cg; j++) {
                        dw[c0 + j] += dwPart[p][j];
                        db[c0 + j] += dbPart[p][j];
                    }
                }
                if (dx != null) inputs()[0].addGradOwned(dx);
                if (needs(1)) inputs()[1].addGradOwned(toTensor(dw));
                if (needs(2)) inputs()[2].addGradOwned(toTensor(db));
            }
        }, x, weight, bias);
    }

    private static void checkAffine(String what, Variable v, int c) {
        if (v != null && (v.shape().length != 1 || v.shape()[0] != c)) {
            throw new IllegalArgumentException("group_norm: " + what + " must be [" + c + "] for " + c + " channels, got "
                    + v.value().shapeString());
        }
    }

    private static Tensor toTensor(double[] a) {
        Tensor t = Tensor.zeros(a.length);
        for (int i = 0; i < a.length; i++) t.data()[i] = (float) a[i];
        return t;
    }
}
