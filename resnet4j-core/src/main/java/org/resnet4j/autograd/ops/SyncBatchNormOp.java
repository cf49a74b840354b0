package org.resnet4j.autograd.ops;

import java.util.Objects;
import java.util.function.Supplier;
import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.OpProfile;
import org.resnet4j.autograd.Variable;
import org.resnet4j.kernels.BatchNorm;
import org.resnet4j.tensor.Tensor;

/**
 * Synchronized batch norm in training, PyTorch's SyncBatchNorm
 * (https://pytorch.org/docs/stable/generated/torch.nn.SyncBatchNorm.html): data-parallel replicas,
 * each holding a shard of one batch, normalise with the statistics of the whole batch, so a step
 * computes what one machine computes on the whole batch.
 *
 * <p>While an {@link AllReduce} is installed on a thread ({@link #with}), every training-mode
 * {@link BatchNormOp} on that thread comes here. The forward sums, per channel and over all
 * replicas, first the values and the count (giving the batch mean), then the squared deviations
 * from that mean (the biased variance): the two passes in double of the single-machine kernel.
 * The running statistics are updated from these global statistics (unbiased with the global
 * count), identically on every replica. The backward sums, over all replicas, dy and
 * dy * (x - mean) per channel, the two reductions of batch norm's input gradient
 * dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)); gamma's and beta's own gradients
 * stay the replica's local sums, which the data-parallel gradient sum adds up.
 *
 * <p>Every replica must run the same layers in the same order: each op calls the all-reduce the
 * same number of times (two per forward, one per backward), which is the collective's contract.
 */
public final class SyncBatchNormOp {
    /** Sums arrays across the replicas of one step. */
    @FunctionalInterface
    public interface AllReduce {
        /**
         * Replaces each element of {@code values} by its sum over all replicas. Every replica
         * calls this in the same sequence with arrays of the same length, and all get the same
         * result (the sum taken in one fixed order).
         */
        void sum(double[] values);
    }

    private static final ThreadLocal<AllReduce> CURRENT = new ThreadLocal<>();

    private SyncBatchNormOp() {}

    /** Runs {@code body} (a forward and its backward) with batch norm synchronized through {@code reduce} on this thread. */
    public static <T> T with(AllReduce reduce, Supplier<T> body) {
        Objects.requireNonNull(reduce, "all-reduce");
        AllReduce prev = CURRENT.get();
        CURRENT.set(reduce);
        try {
            return body.get();
        } finally {
            if (prev == null) CURRENT.remove();
            else CURRENT.set(prev);
        }
    }

    /** This thread's all-reduce, or null when batch norm is not synchronized. */
    static AllReduce current() {
        return CURRENT.get();
    }

    /** The training forward with global statistics; x, gamma, beta already checked by BatchNormOp. */
    static Variable apply(AllReduce reduce, Variable x, Variable gamma, Variable beta, Tensor runningMean, Tensor runningVar,
                          float momentum, float eps, boolean relu) {
        long t0 = OpProfile.now();
        int[] sh = x.shape();
        int n = sh[0], c = sh[1], hw = sh.length == 4 ? sh[2] * sh[3] : 1;
        float[] xd = x.value().data();
        double[] sums = new double[c + 1];
        for (int ch = 0; ch < c; ch++) {
            double s = 0;
            for (int img = 0; img < n; img++) for (int i = (img * c + ch) * hw, e = i + hw; i < e; i++) s += xd[i];
            sums[ch] = s;
        }
        sums[c] = (double) n * hw;
        reduce.sum(sums);
        double m = sums[c];
        if (m < 2) throw new IllegalArgumentException("synchronized batch_norm needs more than 1 value per channel over all replicas, got " + m);
        double[] mean = new double[c];
        for (int ch = 0; ch < c; ch++) mean[ch] = sums[ch] / m;
        double[] sq = new double[c];
        for (int ch = 0; ch < c; ch++) {
            double s = 0, mu = mean[ch];
            for (int img = 0; img < n; img++) {
                for (int i = (img * c + ch) * hw, e = i + hw; i < e; i++) {
                    double d = xd[i] - mu;
                    s += d * d;
                }
            }
            sq[ch] = s;
        }
        reduce.sum(sq);
        float[] saveMean = new float[c], saveInvstd = new float[c], scale = new float[c], shift = new float[c];
        float[] g = gamma.value().data(), b = beta.value().data(), rm = runningMean.data(), rv = runningVar.data();
        double unbias = m / (m - 1);
        for (int ch = 0; ch < c; ch++) {
            double var = sq[ch] / m, invstd = 1.0 / Math.sqrt(var + eps);
            saveMean[ch] = (float) mean[ch];
            saveInvstd[ch] = (float) invstd;
            scale[ch] = (float) (invstd * g[ch]);
            shift[ch] = (float) (b[ch] - mean[ch] * invstd * g[ch]);
            float batchVar = (float) var; // rounded as the single-machine kernel rounds it
            rm[ch] = (float) ((1 - momentum) * rm[ch] + momentum * (double) saveMean[ch]);
            rv[ch] = (float) ((1 - momentum) * rv[ch] + momentum * batchVar * unbias);
        }
        Tensor y = Tensor.zeros(sh);
        BatchNorm.affine(n, c, hw, xd, scale, shift, y.data(), relu);
        Tensor xv = x.value(), gv = gamma.value();
        OpProfile.add(relu ? "SyncBatchNormOp+ReLU fwd" : "SyncBatchNormOp fwd", 0, t0);
        return Node.record(y, () -> new Backward(reduce, x, gamma, beta, xv, gv, saveMean, saveInvstd, m, relu ? y : null), x, gamma, beta);
    }

    private static final class Backward extends FusedReluNode {
        private final AllReduce reduce;
        private Tensor x;
        private final Tensor gamma;
        private final float[] mean, invstd;
        private final double count;

        Backward(AllReduce reduce, Variable x, Variable gamma, Variable beta, Tensor xv, Tensor g, float[] mean, float[] invstd,
                 double count, Tensor reluOut) {
            super("SyncBatchNormOp", reluOut, x, gamma, beta);
            this.reduce = reduce;
            this.x = xv;
            this.gamma = g;
            this.mean = mean;
            this.invstd = invstd;
            this.count = count;
        }

        @Override
        protected void backward(Tensor dy) {
            dy = throughRelu(dy);
            int[] sh = x.shape();
            int n = sh[0], c = sh[1], hw = sh.length == 4 ? sh[2] * sh[3] : 1;
            float[] xd = x.data(), dyd = dy.data(), g = gamma.data();
            double[] sums = new double[2 * c]; // [sum dy | sum dy * (x - mean)] per channel
            for (int ch = 0; ch < c; ch++) {
                double sdy = 0, sdyxc = 0, mu = mean[ch];
                for (int img = 0; img < n; img++) {
                    for (int i = (img * c + ch) * hw, e = i + hw; i < e; i++) {
                        sdy += dyd[i];
                        sdyxc += dyd[i] * (xd[i] - mu);
                    }
                }
                sums[ch] = sdy;
                sums[c + ch] = sdyxc;
            }
            // gamma's and beta's gradients: this replica's own sums (the gradient sum across replicas adds them)
            Tensor dg = needs(1) ? Tensor.zeros(c) : null, db = needs(2) ? Tensor.zeros(c) : null;
            for (int ch = 0; ch < c; ch++) {
                if (dg != null) dg.data()[ch] = (float) (sums[c + ch] * invstd[ch]);
                if (db != null) db.data()[ch] = (float) sums[ch];
            }
            reduce.sum(sums); // every replica reduces, whether or not it needs dx
            if (needs(0)) {
                // dx over dy, which this node owns, with the single-machine kernel's arithmetic (a
                // double formula here rounded apart from it, and replicas drifted from one machine's
                // training by 1e-4 in five steps at 256 bits)
                for (int ch = 0; ch < c; ch++)
                    BatchNorm.inputGradient(n, c, hw, ch, xd, dyd, g[ch], mean[ch], invstd[ch], sums[ch], sums[c + ch], count, dyd);
                inputs()[0].addGradOwned(dy);
            }
            if (dg != null) inputs()[1].addGradOwned(dg);
            if (db != null) inputs()[2].addGradOwned(db);
        }

        @Override
        protected void release() {
            super.release();
            x = null;
        }
    }
}
