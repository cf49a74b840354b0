package org.resnet4j.nn;

import java.util.LinkedHashMap;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.BatchNormOp;
import org.resnet4j.tensor.Tensor;

/**
 * torch.nn.BatchNorm2d (momentum 0.1, eps 1e-5, affine, tracking running stats). Training uses
 * batch statistics and updates running_mean, running_var (unbiased) and num_batches_tracked;
 * eval uses the running statistics.
 *
 * <p>{@link #setFrozen(boolean)} gives torchvision's FrozenBatchNorm2d behaviour: running stats
 * are used and never updated, and gamma/beta get no gradient, even after a later {@code train()}
 * — the usual setting when fine-tuning a detection backbone with small batches.
 * {@link #toFrozenBatchNorm2d()} goes further and takes FrozenBatchNorm2d's state layout too.
 */
public final class BatchNorm2d extends Module {
    public static final float DEFAULT_MOMENTUM = 0.1f, DEFAULT_EPS = 1e-5f;
    public final int channels;
    public final Parameter weight, bias;
    public final Tensor runningMean, runningVar, numBatchesTracked;
    private final float momentum, eps;
    private boolean frozen, frozenLayout;

    public BatchNorm2d(int channels) {
        this(channels, DEFAULT_MOMENTUM, DEFAULT_EPS);
    }

    public BatchNorm2d(int channels, float momentum, float eps) {
        this.channels = channels;
        this.momentum = momentum;
        this.eps = eps;
        this.weight = parameter("weight", allocate(1f, channels));
        this.bias = parameter("bias", allocate(channels));
        this.runningMean = buffer("running_mean", allocate(channels));
        this.runningVar = buffer("running_var", allocate(1f, channels));
        this.numBatchesTracked = buffer("num_batches_tracked", allocate());
    }

    public void setFrozen(boolean frozen) {
        if (frozenLayout && !frozen) {
            throw new IllegalStateException("a FrozenBatchNorm2d has no trainable state: its weight and bias are buffers");
        }
        this.frozen = frozen;
        weight.setRequiresGrad(!frozen);
        bias.setRequiresGrad(!frozen);
    }

    public boolean isFrozen() {
        return frozen;
    }

    /**
     * Turns this layer, in place, into torchvision's FrozenBatchNorm2d (ops/misc.py), which
     * torchvision's detection builders put in a pretrained backbone because batches of a few
     * large images give poor batch statistics: weight, bias,
     * running_mean and running_var become buffers, in that order, and num_batches_tracked goes,
     * so the state_dict keys and parameter counts are torchvision's; the layer always computes
     * y = x * scale + (bias - running_mean * scale) with scale = weight / sqrt(running_var + eps),
     * passes gradients to its input and takes none. In place because the residual blocks hold
     * their BatchNorm2d (and fuse it into convolutions at inference), as detectron2 converts with
     * FrozenBatchNorm2d.convert_frozen_batchnorm. Cannot be undone.
     */
    public void toFrozenBatchNorm2d() {
        if (frozenLayout) return;
        setFrozen(true);
        LinkedHashMap<String, Tensor> state = new LinkedHashMap<>();
        state.put("weight", weight.value());
        state.put("bias", bias.value());
        state.put("running_mean", runningMean);
        state.put("running_var", runningVar);
        restateAsBuffers(state);
        frozenLayout = true;
    }

    /** Converts every BatchNorm2d under {@code root} (itself included) with {@link #toFrozenBatchNorm2d()}; returns how many. */
    public static int freezeAll(Module root) {
        int n = 0;
        for (Module m : root.namedModules().values()) {
            if (m instanceof BatchNorm2d bn) {
                bn.toFrozenBatchNorm2d();
                n++;
            }
        }
        return n;
    }

    /** Whether this is a FrozenBatchNorm2d ({@link #toFrozenBatchNorm2d()}): weight and bias are buffers. */
    public boolean isFrozenBatchNorm2d() {
        return frozenLayout;
    }

    public float eps() {
        return eps;
    }

    /** Eval-mode BN as y = x * scale + shift per channel: {scale, shift} from the running statistics. */
    public float[][] foldedScaleShift() {
        float[] scale = new float[channels], shift = new float[channels];
        float[] g = weight.value().data(), b = bias.value().data(), m = runningMean.data(), v = runningVar.data();
        for (int c = 0; c < channels; c++) {
            double inv = 1.0 / Math.sqrt(v[c] + (double) eps);
            scale[c] = (float) (g[c] * inv);
            shift[c] = (float) (b[c] - m[c] * g[c] * inv);
        }
        return new float[][] {scale, shift};
    }

    @Override
    public Variable forward(Variable x) {
        return forward(x, false);
    }

    /** relu(this(x)) as one op ({@link Fusion#bnRelu} decides when): same values and gradients, one tensor fewer. */
    Variable forward(Variable x, boolean relu) {
        boolean batchStats = isTraining() && !frozen;
        Variable y = BatchNormOp.apply(x, weight, bias, runningMean, runningVar, batchStats, momentum, eps, relu);
        if (batchStats && !x.isMeta() && !numBatchesTracked.isMeta()) numBatchesTracked.data()[0] += 1;
        return y;
    }

    @Override
    public String describe() {
        if (frozenLayout) return "FrozenBatchNorm2d(" + channels + ", eps=" + eps + ")";
        return "BatchNorm2d(" + channels + (frozen ? ", frozen" : "") + ")";
    }
}
