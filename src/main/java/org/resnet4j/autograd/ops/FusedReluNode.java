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
    private Tensor reluOut; // the fused ReLU's output, or null

    FusedReluNode(String op, Tensor reluOut, Variable... inputs) {
        super(inputs);
        this.op = op;
        this.reluOut = reluOut;
    }

    /** dy masked in place by the fused ReLU's output (the node owns dy), or dy as it is when there is none. */
    final Tensor throughRelu(Tensor dy) {
        return reluOut == null ? dy : ReluOp.maskInPlace(dy, reluOut);
    }

    @Override
    public final Tensor reluSigns() {
        return reluOut;
    }

    @Override
    public final boolean readsOwnOutput() {
        return reluOut != null;
    }

    @Override
    protected final String profileKey() {
        return op + (reluOut != null ? "+ReLU bwd" : " bwd");
    }

    @Override
    protected void release() {
        reluOut = null;
    }
}
