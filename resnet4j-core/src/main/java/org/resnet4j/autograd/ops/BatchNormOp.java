package org.resnet4j.autograd.ops;

import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.OpProfile;
import org.resnet4j.autograd.Variable;
import org.resnet4j.kernels.BatchNorm;
import org.resnet4j.tensor.Tensor;

/**
 * torch.nn.functional.batch_norm over NCHW. In training it normalizes with the batch statistics
 * and updates the running ones in place: running = (1 - momentum) * running + momentum * batch,
 * with the unbiased batch variance, as PyTorch does. In eval it is a per-channel affine map.
 * Backward recomputes x-hat from the saved input rather than storing it. Inside
 * {@link SyncBatchNormOp#with} the training statistics are those of all replicas' shards together.
 */
public final class BatchNormOp {
    private BatchNormOp() {}

    // x: [N, C, H, W] (or [N, C])  gamma, beta, runningMean, runningVar: [C]
    public static Variable apply(Variable x, Variable gamma, Variable beta, Tensor runningMean, Tensor runningVar,
                                 boolean training, float momentum, float eps) {
        return apply(x, gamma, beta, runningMean, runningVar, training, momentum, eps, false);
    }

    /**
     * relu(batch_norm(x)) as one op when {@code relu}: the pre-activation is never stored (its
     * buffer is the output, clamped in the same pass), and backward masks dy by output > 0
     * before the batch-norm backward. Same values and gradients as the two ops in sequence.
     */
    public static Variable apply(Variable x, Variable gamma, Variable beta, Tensor runningMean, Tensor runningVar,
                                 boolean training, float momentum, float eps, boolean relu) {
        int[] sh = x.shape();
        if (sh.length != 4 && sh.length != 2) throw new IllegalArgumentException("batch_norm expects NCHW or NC input, got " + x.value().shapeString());
        int n = sh[0], c = sh[1], hw = sh.length == 4 ? sh[2] * sh[3] : 1;
        if (gamma.value().size() != c || runningMean.size() != c) {
            throw new IllegalArgumentException("batch_norm: input has " + c + " channels but the parameters have " + gamma.value().size());
        }
        if (x.isMeta()) return Variable.constant(Tensor.meta(sh));
        if (training && n * hw < 2) {
            // PyTorch: "Expected more than 1 value per channel when training".
            throw new IllegalArgumentException("batch_norm in training needs more than 1 value per channel, got input "
                    + x.value().shapeString());
        }
        SyncBatchNormOp.AllReduce sync = training ? SyncBatchNormOp.current() : null;
        if (sync != null) return SyncBatchNormOp.apply(sync, x, gamma, beta, runningMean, runningVar, momentum, eps, relu);
        long t0 = OpProfile.now();
        Tensor y = Tensor.uninitialized(sh); // every element written, training or eval
        float[] xd = x.value().data();
        if (training) {
            float[] mean = new float[c], invstd = new float[c], var = new float[c];
            float[] scale = relu ? new float[c] : null, shift = relu ? new float[c] : null; // to recompute y (see Backward)
            BatchNorm.forwardTrain(n, c, hw, xd, gamma.value().data(), beta.value().data(), eps, y.data(), mean, invstd, var, relu,
                    scale, shift);
            float[] rm = runningMean.data(), rv = runningVar.data();
            double unbias = (double) n * hw / (n * hw - 1);
            for (int ch = 0; ch < c; ch++) {
                rm[ch] = (float) ((1 - momentum) * rm[ch] + momentum * (double) mean[ch]);
                rv[ch] = (float) ((1 - momentum) * rv[ch] + momentum * var[ch] * unbias);
            }
            Tensor xv = x.value(), g = gamma.value();
            OpProfile.add(relu ? "BatchNormOp+ReLU fwd" : "BatchNormOp fwd", 0, t0);
            return Node.record(y, () -> new Backward(x, gamma, beta, xv, g, true, mean, invstd, eps, relu ? y : null, scale, shift),
                    x, gamma, beta);
        }
        BatchNorm.forwardEval(n, c, hw, xd, gamma.value().data(), beta.value().data(),
                runningMean.data(), runningVar.data(), eps, y.data(), relu);
        Tensor xv = x.value(), g = gamma.value();
        float[] rmCopy = runningMean.data().clone(), rvCopy = runningVar.data().clone();
        float[] scale = relu ? new float[c] : null, shift = relu ? new float[c] : null;
        if (relu) BatchNorm.evalScaleShift(gamma.value().data(), beta.value().data(), rmCopy, rvCopy, eps, scale, shift);
        OpProfile.add(relu ? "BatchNormOp+ReLU fwd" : "BatchNormOp fwd", 0, t0);
        return Node.record(y, () -> new Backward(x, gamma, beta, xv, g, false, rmCopy, rvCopy, eps, relu ? y : null, scale, shift),
                x, gamma, beta);
    }

    private static int[] dims(Tensor x) {
        int[] s = x.shape();
        return new int[] {s[0], s[1], s.length == 4 ? s[2] * s[3] : 1};
    }

    /**
     * Backward of both modes: training through the batch statistics (mean, invstd saved by the
     * forward), eval through the fixed running statistics (copied at forward time).
     */
    private static final class Backward extends FusedReluNode {
        private Tensor x;
        private final Tensor gamma;
        private final boolean training;
        private final float[] a, b; // training: mean, invstd; eval: running mean, running var
        private final float eps;
        private final float[] scale, shift; // with a fused ReLU: y = max(x * scale + shift, 0) per channel, as computed

        Backward(Variable x, Variable gamma, Variable beta, Tensor xv, Tensor g, boolean training, float[] a, float[] b, float eps,
                 Tensor reluOut, float[] scale, float[] shift) {
            super("BatchNormOp", reluOut, x, gamma, beta);
            this.x = xv;
            this.gamma = g;
            this.training = training;
            this.a = a;
            this.b = b;
            this.eps = eps;
            this.scale = scale;
            this.shift = shift;
        }

        /** The fused BN+ReLU's output is one affine pass over the kept input: cheaper to redo than to keep. */
        @Override
        protected boolean canRecomputeOutput() {
            return scale != null && x != null;
        }

        @Override
        protected Tensor recomputeOutput() {
            int[] d = dims(x);
            Tensor y = Tensor.uninitialized(x.shape());
            BatchNorm.affine(d[0], d[1], d[2], x.data(), scale, shift, y.data(), true);
            return y;
        }

        @Override
        protected void backward(Tensor dy) {
            dy = throughRelu(dy);
            int[] d = dims(x);
            // dx is written over dy (ours: see Node): the kernels finish each channel's sums of dy
            // before writing that channel's dx, element by element
            Tensor dx = needs(0) ? dy : null;
            Tensor dg = needs(1) ? Tensor.zeros(d[1]) : null;
            Tensor db = needs(2) ? Tensor.zeros(d[1]) : null;
            float[] dxd = dx == null ? null : dx.data(), dgd = dg == null ? null : dg.data(), dbd = db == null ? null : db.data();
            if (training) BatchNorm.backwardTrain(d[0], d[1], d[2], x.data(), dy.data(), gamma.data(), a, b, dxd, dgd, dbd);
            else BatchNorm.backwardEval(d[0], d[1], d[2], x.data(), dy.data(), gamma.data(), a, b, eps, dxd, dgd, dbd);
            if (dx != null) inputs()[0].addGradOwned(dx);
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
