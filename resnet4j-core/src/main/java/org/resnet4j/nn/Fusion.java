package org.resnet4j.nn;

import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.Conv2dOp;

/**
 * Training fusion: BatchNorm2d + ReLU ({@link #bnRelu}) and the residual add + ReLU
 * ({@link #addRelu}) as one op each, whenever no forward hook needs to see the modules' outputs apart.
 *
 * <p>Inference fusion: Conv2d + BatchNorm2d (+ residual add) (+ ReLU) as one convolution whose
 * epilogue applies the batch norm folded to a per-channel scale and shift (Ioffe and Szegedy
 * 2015: in eval mode BN is affine), the residual and the ReLU while the output is in cache.
 * Used only in eval mode with no graph recorded and no forward hook watching, so training,
 * summaries and feature extraction see every module as before.
 */
public final class Fusion {
    private Fusion() {}

    /** Whether {@code m}'s fused path may run now. */
    public static boolean active(Module m) {
        return !m.isTraining() && !GradMode.isEnabled() && !Module.forwardHookActive();
    }

    /**
     * relu(bn(x)): one op (the pre-activation never stored, one pass fewer each way) unless a
     * forward hook is watching, which must see both modules' outputs.
     */
    public static Variable bnRelu(BatchNorm2d bn, Module relu, Variable x) {
        if (Module.forwardHookActive() || !(relu instanceof ReLU)) return relu.call(bn.call(x));
        return bn.forward(x, true);
    }

    /**
     * relu(a + b), the end of a residual block: one op unless a forward hook is watching (see
     * {@link #bnRelu}), written over a's storage when autograd allows it (torchvision's in-place
     * {@code out += identity}); a must be the block's own temporary, read by nothing else.
     */
    public static Variable addRelu(Module relu, Variable a, Variable b) {
        return addRelu(relu, a, b, false);
    }

    /**
     * As {@link #addRelu(Module, Variable, Variable)}; {@code bTemporary}: b is the block's own
     * too (a projection shortcut's output), and its storage is given back right after the sum.
     */
    public static Variable addRelu(Module relu, Variable a, Variable b, boolean bTemporary) {
        if (Module.forwardHookActive() || !(relu instanceof ReLU)) return relu.call(org.resnet4j.autograd.ops.AddOp.apply(a, b));
        return org.resnet4j.autograd.ops.AddOp.apply(a, b, true, true, bTemporary);
    }

    /**
     * conv(x), after which x's storage goes back to a releasing pool when x's maker can recompute
     * it (a fused BN+ReLU): the conv's backward-weight and the ReLU's mask recompute it from the
     * BN's kept input, one elementwise pass, instead of keeping a second activation per layer (the
     * idea of Chen et al. 2016, "Training deep nets with sublinear memory cost", applied to the
     * cheapest layer). x must be the block's own temporary, read by nothing else; with a forward
     * hook watching, nothing is given back.
     */
    public static Variable convReleasingInput(Conv2d conv, Variable x) {
        Variable y = conv.call(x);
        if (!Module.forwardHookActive()) x.releaseRecomputable();
        return y;
    }

    /** A projection shortcut, Sequential(Conv2d, BatchNorm2d), fused; any other module runs as usual. */
    public static Variable shortcut(Module m, Variable x) {
        if (m instanceof Sequential s && s.size() == 2 && s.get(0) instanceof Conv2d c && s.get(1) instanceof BatchNorm2d b) {
            return convBn(c, b, x, null, false);
        }
        return m.call(x);
    }

    /**
     * Gives a fused path's temporary back to the open {@link org.resnet4j.tensor.BufferPool} (an
     * {@link Inference} call), so a later layer's output reuses its array while it is still in
     * cache, unless {@code result} (what the path returns) shares its storage. Only for values
     * that nothing outside the fused path can see: with no graph and no forward hook, a block's
     * inner outputs. A no-op when no pool is open.
     */
    public static void release(Variable temp, Variable result) {
        if (temp != null && temp != result && temp.value().data() != result.value().data()) {
            org.resnet4j.tensor.BufferPool.recycle(temp.value().data());
        }
    }

    /**
     * The fused path through {@code stages}, module after module: {@code own} (the path's own
     * temporary, never the caller's input) and each intermediate output are given back as soon
     * as the next module has read them ({@link #release}).
     */
    public static Variable chain(Variable own, Sequential... stages) {
        Variable y = own;
        for (Sequential stage : stages) {
            for (int i = 0; i < stage.size(); i++) {
                Variable next = stage.get(i).call(y);
                release(y, next);
                y = next;
            }
        }
        return y;
    }

    /** relu?(bn(conv(x)) + residual?) in one pass over the output. */
    public static Variable convBn(Conv2d conv, BatchNorm2d bn, Variable x, Variable residual, boolean relu) {
        float[][] ss = bn.foldedScaleShift();
        float[] shift = ss[1];
        if (conv.bias != null) {
            // bn(conv(x) + b) = scale * conv(x) + (shift + scale * b)
            float[] b = conv.bias.value().data();
            shift = shift.clone();
            for (int c = 0; c < shift.length; c++) shift[c] += ss[0][c] * b[c];
        }
        return Conv2dOp.inference(x, conv.weight, conv.params(), ss[0], shift, residual, relu);
    }
}
