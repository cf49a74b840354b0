package org.resnet4j.kernels;

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
        Parallel.forRange(c, 1, (c0, c1) -> {
            for (int ch = c0; ch < c1; ch++) {
                double sum = 0, sq = 0;
                for (int img = 0; img < n; img++) {
                    int off = (img * c + ch) * hw;
                    for (int i = 0; i < hw; i++) sum += x[off + i];
                }
                double m = (double) n * hw;
                double mean = sum / m;
                for (int img = 0; img < n; img++) {
                    int off = (img * c + ch) * hw;
                    for (int i = 0; i < hw; i++) {
                        double d = x[off + i] - mean;
                        sq += d * d;
                    }
                }
                double var = sq / m;
                double invstd = 1.0 / Math.sqrt(var + eps);
                saveMean[ch] = (float) mean;
                saveInvstd[ch] = (float) invstd;
                batchVar[ch] = (float) var;
                float scale = (float) (invstd * gamma[ch]);
                float shift = (float) (beta[ch] - mean * invstd * gamma[ch]);
                affine(x, y, n, c, hw, ch, scale, shift);
            }
        });
    }

    /** Eval forward: the running statistics make BN one per-channel affine map. */
    public static void forwardEval(int n, int c, int hw, float[] x, float[] gamma, float[] beta,
                                   float[] runningMean, float[] runningVar, float eps, float[] y) {
        Parallel.forRange(c, 1, (c0, c1) -> {
            for (int ch = c0; ch < c1; ch++) {
                double invstd = 1.0 / Math.sqrt(runningVar[ch] + (double) eps);
                float scale = (float) (invstd * gamma[ch]);
                float shift = (float) (beta[ch] - runningMean[ch] * invstd * gamma[ch]);
                affine(x, y, n, c, hw, ch, scale, shift);
            }
        });
    }

    private static void affine(float[] x, float[] y, int n, int c, int hw, int ch, float scale, float shift) {
        for (int img = 0; img < n; img++) {
            int off = (img * c + ch) * hw;
            for (int i = 0; i < hw; i++) y[off + i] = x[off + i] * scale + shift;
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
        Parallel.forRange(c, 1, (c0, c1) -> {
            for (int ch = c0; ch < c1; ch++) {
                double mean = saveMean[ch], invstd = saveInvstd[ch];
                double sdy = 0, sdyx = 0;
                for (int img = 0; img < n; img++) {
                    int off = (img * c + ch) * hw;
                    for (int i = 0; i < hw; i++) {
                        sdy += dy[off + i];
                        sdyx += dy[off + i] * ((x[off + i] - mean) * invstd);
                    }
                }
                if (dgamma != null) dgamma[ch] += (float) sdyx;
                if (dbeta != null) dbeta[ch] += (float) sdy;
                if (dx == null) continue;
                double m = (double) n * hw;
                double k = gamma[ch] * invstd;
                double a = sdy / m, b = sdyx / m;
                for (int img = 0; img < n; img++) {
                    int off = (img * c + ch) * hw;
                    for (int i = 0; i < hw; i++) {
                        double xhat = (x[off + i] - mean) * invstd;
                        dx[off + i] = (float) (k * (dy[off + i] - a - xhat * b));
                    }
                }
            }
        });
    }

    /** Eval backward: BN is affine, dx = dy * gamma * invstd; dgamma/dbeta accumulate. */
    public static void backwardEval(int n, int c, int hw, float[] x, float[] dy, float[] gamma,
                                    float[] runningMean, float[] runningVar, float eps,
                                    float[] dx, float[] dgamma, float[] dbeta) {
        Parallel.forRange(c, 1, (c0, c1) -> {
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
