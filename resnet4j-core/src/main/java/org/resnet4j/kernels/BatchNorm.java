package org.resnet4j.kernels;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Batch normalization over NCHW (Ioffe and Szegedy 2015; PyTorch's BatchNorm2d semantics):
 * statistics per channel over N*H*W, biased variance for normalizing, unbiased for the running
 * estimate. Channels are independent, so the work is split across channels. Sums run in double.
 */
public final class BatchNorm {
    private BatchNorm() {}

    /**
     * Training forward: y = (x - mean) * invstd * gamma + beta with batch statistics. Saves mean
     * and invstd for backward and writes the batch's biased variance into {@code batchVar}.
     */
    public static void forwardTrain(int n, int c, int hw, float[] x, float[] gamma, float[] beta, float eps,
                                    float[] y, float[] saveMean, float[] saveInvstd, float[] batchVar) {
        forwardTrain(n, c, hw, x, gamma, beta, eps, y, saveMean, saveInvstd, batchVar, false);
    }

    /** As above, then max(y, 0) in the same pass when {@code relu} (BN+ReLU fused for training). */
    public static void forwardTrain(int n, int c, int hw, float[] x, float[] gamma, float[] beta, float eps,
                                    float[] y, float[] saveMean, float[] saveInvstd, float[] batchVar, boolean relu) {
        forwardTrain(n, c, hw, x, gamma, beta, eps, y, saveMean, saveInvstd, batchVar, relu, null, null);
    }

    /**
     * As above, also saving the per-channel float scale and shift that y was computed with (when
     * the arrays are not null), so {@link #affine} can recompute y bit for bit from x.
     */
    public static void forwardTrain(int n, int c, int hw, float[] x, float[] gamma, float[] beta, float eps,
                                    float[] y, float[] saveMean, float[] saveInvstd, float[] batchVar, boolean relu,
                                    float[] saveScale, float[] saveShift) {
        Parallel.forRangeGuided(c, 1, (c0, c1) -> {
            for (int ch = c0; ch < c1; ch++) {
                double sum = 0, sq = 0;
                for (int img = 0; img < n; img++) sum += sum(x, (img * c + ch) * hw, hw);
                double m = (double) n * hw;
                double mean = sum / m;
                for (int img = 0; img < n; img++) sq += sumSquaredDeviation(x, (img * c + ch) * hw, hw, mean);
                double var = sq / m;
                double invstd = 1.0 / Math.sqrt(var + eps);
                saveMean[ch] = (float) mean;
                saveInvstd[ch] = (float) invstd;
                batchVar[ch] = (float) var;
                float scale = (float) (invstd * gamma[ch]);
                float shift = (float) (beta[ch] - mean * invstd * gamma[ch]);
                if (saveScale != null) {
                    saveScale[ch] = scale;
                    saveShift[ch] = shift;
                }
                affine(x, y, n, c, hw, ch, scale, shift, relu);
            }
        });
    }

    /** y = x * scale + shift per channel (then max(y, 0) when {@code relu}): a saved forward, recomputed. */
    public static void affine(int n, int c, int hw, float[] x, float[] scale, float[] shift, float[] y, boolean relu) {
        Parallel.forRangeGuided(c, 1, (c0, c1) -> {
            for (int ch = c0; ch < c1; ch++) affine(x, y, n, c, hw, ch, scale[ch], shift[ch], relu);
        });
    }

    /** The eval-mode scale and shift of each channel, as {@link #forwardEval} applies them. */
    public static void evalScaleShift(float[] gamma, float[] beta, float[] runningMean, float[] runningVar, float eps,
                                      float[] scale, float[] shift) {
        for (int ch = 0; ch < scale.length; ch++) {
            double invstd = 1.0 / Math.sqrt(runningVar[ch] + (double) eps);
            scale[ch] = (float) (invstd * gamma[ch]);
            shift[ch] = (float) (beta[ch] - runningMean[ch] * invstd * gamma[ch]);
        }
    }

    /** Eval forward: the running statistics make BN one per-channel affine map. */
    public static void forwardEval(int n, int c, int hw, float[] x, float[] gamma, float[] beta,
                                   float[] runningMean, float[] runningVar, float eps, float[] y) {
        forwardEval(n, c, hw, x, gamma, beta, runningMean, runningVar, eps, y, false);
    }

    /** As above, then max(y, 0) in the same pass when {@code relu}. */
    public static void forwardEval(int n, int c, int hw, float[] x, float[] gamma, float[] beta,
                                   float[] runningMean, float[] runningVar, float eps, float[] y, boolean relu) {
        Parallel.forRangeGuided(c, 1, (c0, c1) -> {
            for (int ch = c0; ch < c1; ch++) {
                double invstd = 1.0 / Math.sqrt(runningVar[ch] + (double) eps);
                float scale = (float) (invstd * gamma[ch]);
                float shift = (float) (beta[ch] - runningMean[ch] * invstd * gamma[ch]);
                affine(x, y, n, c, hw, ch, scale, shift, relu);
            }
        });
    }

    private static void affine(float[] x, float[] y, int n, int c, int hw, int ch, float scale, float shift, boolean relu) {
        for (int img = 0; img < n; img++) {
            int off = (img * c + ch) * hw;
            if (relu) {
                for (int i = 0; i < hw; i++) y[off + i] = Math.max(x[off + i] * scale + shift, 0f);
            } else {
                for (int i = 0; i < hw; i++) y[off + i] = x[off + i] * scale + shift;
            }
        }
    }

    /**
     * Training backward with xhat recomputed from x (not stored):
     * dbeta = sum(dy), dgamma = sum(dy * xhat),
     * dx = gamma * invstd / M * (M * dy - dbeta - xhat * dgamma), M = N*H*W.
     * dgamma/dbeta accumulate; dx (if not null) is overwritten.
     */
    public static void backwardTrain(int n, int c, int hw, float[] x, float[] dy, float[] gamma,
                                     float[] saveMean, float[] saveInvstd,
                                     float[] dx, float[] dgamma, float[] dbeta) {
        Parallel.forRangeGuided(c, 1, (c0, c1) -> {
            for (int ch = c0; ch < c1; ch++) {
                double mean = saveMean[ch], invstd = saveInvstd[ch];
                double sdy = 0, sdyxc = 0; // sums of dy and of dy * (x - mean)
                for (int img = 0; img < n; img++) {
                    int off = (img * c + ch) * hw;
                    sdy += sum(dy, off, hw);
                    sdyxc += sumProductCentred(dy, x, off, hw, mean);
                }
                double sdyx = sdyxc * invstd; // sum of dy * xhat
                if (dgamma != null) dgamma[ch] += (float) sdyx;
                if (dbeta != null) dbeta[ch] += (float) sdy;
                if (dx != null) inputGradient(n, c, hw, ch, x, dy, gamma[ch], saveMean[ch], saveInvstd[ch], sdy, sdyxc, (double) n * hw, dx);
            }
        });
    }

    /**
     * Channel ch of training batch norm's dx, from the sums of dy and of dy * (x - mean) over all
     * {@code count} values of the channel (which may span more than this batch: synchronized batch
     * norm sums across replicas and calls this with the totals, so that its replicas compute dx
     * with the single-machine arithmetic, rounding and all). dx may be dy.
     */
    public static void inputGradient(int n, int c, int hw, int ch, float[] x, float[] dy, float gamma, float mean, float invstd,
                                     double sumDy, double sumDyCentred, double count, float[] dx) {
        double is = invstd, k = gamma * is;
        double a = sumDy / count, b = sumDyCentred * is / count;
        // dx = k * (dy - a - xhat * b) = k * dy + (x - mean) * kb + ka, in float lanes: each
        // term is rounded a few times at float precision, inside the kernel's error bound
        float kf = (float) k, kb = (float) (-k * is * b), ka = (float) (-k * a);
        for (int img = 0; img < n; img++) dxPlane(dy, x, dx, (img * c + ch) * hw, hw, mean, kf, kb, ka);
    }

    // Per-plane loops in double lanes: floats widened a vector at a time, so sums keep double
    // accuracy (as PyTorch's CPU kernels, whose accumulate type for float is double) while
    // vectorized; a scalar double sum is a chain of dependent adds, ~4 cycles per element. The
    // species are Hardware's: a fixed 512-bit double species has no native form on AVX2 and ran
    // as the Vector API's Java code in every training step there.
    private static final VectorSpecies<Float> FW = Hardware.FLOATS_TO_WIDEN;
    private static final VectorSpecies<Double> D = Hardware.DOUBLES;
    /** Doubles per vector, and floats widened per step. */
    private static final int W = D.length();
    /** Whether one float vector widens into exactly one double vector (not on a JVM without 128-bit vectors). */
    private static final boolean VECTOR = FW.length() == W && W >= 2;

    private static DoubleVector wide(float[] a, int i) {
        return (DoubleVector) FloatVector.fromArray(FW, a, i).convertShape(VectorOperators.F2D, D, 0);
    }

    /**
     * The lanes of v added in lane order. Not {@code reduceLanes(ADD)}: its order is unspecified
     * and differs between the interpreter and C2, so results would depend on when the JIT
     * compiled the caller, and a training run would not repeat bit for bit.
     */
    private static double lanesInOrder(DoubleVector v) {
        double s = 0;
        for (int i = 0; i < v.length(); i++) s += v.lane(i);
        return s;
    }

    /** sum of a[off, off+len) in double. */
    static double sum(float[] a, int off, int len) {
        int i = 0;
        double s = 0;
        if (VECTOR) {
            DoubleVector acc0 = DoubleVector.zero(D), acc1 = DoubleVector.zero(D);
            for (; i + 2 * W <= len; i += 2 * W) {
                acc0 = acc0.add(wide(a, off + i));
                acc1 = acc1.add(wide(a, off + i + W));
            }
            for (; i + W <= len; i += W) acc0 = acc0.add(wide(a, off + i));
            s = lanesInOrder(acc0.add(acc1));
        }
        for (; i < len; i++) s += a[off + i];
        return s;
    }

    /** sum of (a - mean)^2 over a[off, off+len), in double. */
    static double sumSquaredDeviation(float[] a, int off, int len, double mean) {
        int i = 0;
        double s = 0;
        if (VECTOR) {
            DoubleVector acc = DoubleVector.zero(D), mu = DoubleVector.broadcast(D, mean);
            for (; i + W <= len; i += W) {
                DoubleVector d = wide(a, off + i).sub(mu);
                acc = d.fma(d, acc);
            }
            s = lanesInOrder(acc);
        }
        for (; i < len; i++) {
            double d = a[off + i] - mean;
            s += d * d;
        }
        return s;
    }

    /** sum of dy * (x - mean) over [off, off+len), in double. */
    static double sumProductCentred(float[] dy, float[] x, int off, int len, double mean) {
        int i = 0;
        double s = 0;
        if (VECTOR) {
            DoubleVector acc = DoubleVector.zero(D), mu = DoubleVector.broadcast(D, mean);
            for (; i + W <= len; i += W) acc = wide(dy, off + i).fma(wide(x, off + i).sub(mu), acc);
            s = lanesInOrder(acc);
        }
        for (; i < len; i++) s += dy[off + i] * (x[off + i] - mean);
        return s;
    }

    private static final VectorSpecies<Float> F = Hardware.FLOATS;

    private static void dxPlane(float[] dy, float[] x, float[] dx, int off, int len, float mean, float k, float kb, float ka) {
        FloatVector vk = FloatVector.broadcast(F, k), vkb = FloatVector.broadcast(F, kb), vka = FloatVector.broadcast(F, ka);
        int i = 0;
        for (; i + F.length() <= len; i += F.length()) {
            FloatVector t = FloatVector.fromArray(F, dy, off + i).fma(vk, vka);
            FloatVector.fromArray(F, x, off + i).sub(mean).fma(vkb, t).intoArray(dx, off + i);
        }
        for (; i < len; i++) dx[off + i] = Math.fma(x[off + i] - mean, kb, Math.fma(dy[off + i], k, ka));
    }

    /** Eval backward: BN is affine, dx = dy * gamma * invstd; dgamma/dbeta accumulate. */
    public static void backwardEval(int n, int c, int hw, float[] x, float[] dy, float[] gamma,
                                    float[] runningMean, float[] runningVar, float eps,
                                    float[] dx, float[] dgamma, float[] dbeta) {
        Parallel.forRangeGuided(c, 1, (c0, c1) -> {
            for (int ch = c0; ch < c1; ch++) {
                double invstd = 1.0 / Math.sqrt(runningVar[ch] + (double) eps);
                double mean = runningMean[ch];
                double sdy = 0, sdyx = 0;
                float k = (float) (gamma[ch] * invstd);
                for (int img = 0; img < n; img++) {
                    int off = (img * c + ch) * hw;
                    for (int i = 0; i < hw; i++) {
                        sdy += dy[off + i];
                        sdyx += dy[off + i] * ((x[off + i] - mean) * invstd);
                        if (dx != null) dx[off + i] = dy[off + i] * k;
                    }
                }
                if (dgamma != null) dgamma[ch] += (float) sdyx;
                if (dbeta != null) dbeta[ch] += (float) sdy;
            }
        });
    }
}
