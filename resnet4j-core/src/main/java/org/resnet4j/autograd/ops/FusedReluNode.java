package org.resnet4j.autograd.ops;

import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.Variable;
import org.resnet4j.tensor.Tensor;

/**
 * The backward of an op that may end in a fused ReLU (BatchNormOp and AddOp with relu = true):
 * it keeps the ReLU's output, masks the incoming gradient by it, answers gradient checks'
 * {@link #reluSigns()}, and names its profile row "Op+ReLU bwd".
 */
abstract class FusedReluNode extends Node {
    private final String op;
    private final boolean relu;
    private Tensor reluOut; // the fused ReLU's output (null without one, or once given back to be recomputed)

    FusedReluNode(String op, Tensor reluOut, Variable... inputs) {
        super(inputs);
        this.op = op;
        this.relu = reluOut != null;
        this.reluOut = reluOut;
    }

    /** dy masked in place by the fused ReLU's output (the node owns dy), or dy as it is when there is none. */
    final Tensor throughRelu(Tensor dy) {
        return relu ? ReluOp.maskInPlace(dy, reluSigns()) : dy;
    }

    final boolean hasRelu() {
        return relu;
    }

    @Override
    public final Tensor reluSigns() {
        return !relu ? null : reluOut != null ? reluOut : recomputedOutput();
    }

    @Override
    public final boolean readsOwnOutput() {
        return relu;
    }

    @Override
    protected void outputReleased() {
        reluOut = null;
    }

    @Override
    protected final String profileKey() {
        return op + (relu ? "+ReLU bwd" : " bwd");
    }

    @Override
    protected void release() {
        reluOut = null;
    }
}
