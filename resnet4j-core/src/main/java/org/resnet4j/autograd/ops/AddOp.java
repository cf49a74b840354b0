package org.resnet4j.autograd.ops;

import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.OpProfile;
import org.resnet4j.autograd.Variable;
import org.resnet4j.kernels.Parallel;
import org.resnet4j.tensor.Tensor;

/** y = a + b (same shapes): the residual connection. The gradient flows unchanged to both (through the fused ReLU's mask, if any). */
public final class AddOp {
    private AddOp() {}

    public static Variable apply(Variable a, Variable b) {
        return apply(a, b, false);
    }

    /**
     * relu(a + b) as one op when {@code relu} (a residual block's end): the sum is never stored,
     * and backward masks dy by output > 0 once for both inputs. Same values and gradients as the
     * two ops in sequence.
     */
    public static Variable apply(Variable a, Variable b, boolean relu) {
        return apply(a, b, relu, false);
    }

    /**
     * As {@link #apply(Variable, Variable, boolean)}; with {@code overwriteA} the result is written
     * over {@code a}'s storage, as torchvision's {@code out += identity} does, whenever autograd
     * allows it: when a was made by an op whose backward does not read its own output (batch norm
     * without a fused ReLU, a convolution) and is not a view of that op's input. That saves one
     * block-sized tensor per residual block in training. The caller promises that nothing else
     * reads a afterwards.
     */
    public static Variable apply(Variable a, Variable b, boolean relu, boolean overwriteA) {
        return apply(a, b, relu, overwriteA, false);
    }

    /**
     * As {@link #apply(Variable, Variable, boolean, boolean)}; with {@code releaseB}, b's storage
     * also goes back to a releasing pool ({@link Variable#releaseValue}) right after the sum, when
     * autograd allows it as for a: a projection shortcut's batch-norm output is read by nothing
     * else, and the next block's activations can reuse it.
     */
    public static Variable apply(Variable a, Variable b, boolean relu, boolean overwriteA, boolean releaseB) {
        if (!a.value().sameShape(b.value())) {
            throw new IllegalArgumentException("add: shapes differ: " + a.value().shapeString() + " + " + b.value().shapeString());
        }
        if (a.isMeta()) return Variable.constant(Tensor.meta(a.shape()));
        float[] x = a.value().data(), z = b.value().data();
        long t0 = OpProfile.now();
        Tensor y = overwriteA && overwritable(a) ? a.value() : Tensor.uninitialized(a.shape());
        float[] yd = y.data();
        Parallel.forRangeGuided(y.size(), 1 << 15, (s, e) -> {
            if (relu) {
                for (int i = s; i < e; i++) yd[i] = Math.max(x[i] + z[i], 0f);
            } else {
                for (int i = s; i < e; i++) yd[i] = x[i] + z[i];
            }
        });
        if (releaseB && z != yd && overwritable(b)) b.releaseValue();
        OpProfile.add(relu ? "AddOp+ReLU fwd" : "AddOp fwd", 0, t0);
        return Node.record(y, () -> new Backward(a, b, relu ? y : null), a, b);
    }

    private static boolean overwritable(Variable a) {
        Node maker = a.gradFn();
        if (maker == null || maker.readsOwnOutput()) return false;
        for (Variable in : maker.inputs()) if (in != null && in.value().data() == a.value().data()) return false;
        return true;
    }

    private static final class Backward extends FusedReluNode {
        Backward(Variable a, Variable b, Tensor reluOut) {
            super("AddOp", reluOut, a, b);
        }

        @Override
        protected void backward(Tensor dy) {
            // dy is ours (the output drops it after this call; a fused ReLU masks it in place): the
            // first input gets a copy, the second adopts it (correct also for x + x: the adoption
            // then adds in place).
            Tensor g = throughRelu(dy);
            if (needs(0)) inputs()[0].addGrad(g);
            if (needs(1)) inputs()[1].addGradOwned(g);
        }
    }
}
