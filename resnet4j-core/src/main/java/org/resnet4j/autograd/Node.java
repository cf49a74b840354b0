package org.resnet4j.autograd;

import org.resnet4j.tensor.Tensor;

/**
 * One recorded op: it knows its inputs and its output, and turns the output's gradient into
 * gradients of the inputs ({@link Variable#addGrad}). Subclasses hold exactly what backward needs.
 */
public abstract class Node {
    private final Variable[] inputs;
    private Variable output;
    private boolean released;
    private Tensor recomputed; // the output, recomputed for backward after its storage was given back early

    protected Node(Variable... inputs) {
        this.inputs = inputs;
    }

    public Variable[] inputs() {
        return inputs;
    }

    Variable output() {
        return output;
    }

    /** Short op name for debugging and profiles. */
    public String name() {
        return getClass().getSimpleName();
    }

    /**
     * The row this node's backward is timed under in {@link OpProfile}: by default the op's class
     * ("ReluOp bwd" for ReluOp's node, named or anonymous); null when the node times itself.
     */
    protected String profileKey() {
        String n = getClass().getName();
        n = n.substring(n.lastIndexOf('.') + 1);
        int dollar = n.indexOf('$');
        return (dollar > 0 ? n.substring(0, dollar) : n) + " bwd";
    }

    /**
     * For gradient checks, which must not step across a ReLU's kink: a tensor whose elements are
     * > 0 exactly where this node's ReLU passes its input (a ReLU's output, or a fused one's), or
     * null when the node has no ReLU. Valid until backward releases the node.
     */
    public Tensor reluSigns() {
        return null;
    }

    /**
     * Whether backward reads this node's own output (a ReLU's mask, for one). False lets the
     * output be overwritten in place once consumed, as a residual add does with batch norm's
     * output; true, the safe default, forbids it.
     */
    public boolean readsOwnOutput() {
        return true;
    }

    /**
     * Accumulates d(loss)/d(input) for each input that requires grad. {@code gradOutput} is the
     * node's own: its output has let go of it, so backward may overwrite it (a ReLU masks it in
     * place) or hand it on to an input ({@link Variable#addGradOwned}).
     */
    protected abstract void backward(Tensor gradOutput);

    /** Drops saved tensors after backward; override when a node holds large buffers. */
    protected void release() {}

    /**
     * Whether this node can recompute its output from what its backward keeps anyway, so the
     * output's storage may be given back as soon as the forward pass has consumed it
     * ({@link Variable#releaseRecomputable}). A fused BN+ReLU can: from its input and its
     * per-channel scale and shift.
     */
    protected boolean canRecomputeOutput() {
        return false;
    }

    /** The output computed again, bit for bit, into a new tensor (only when {@link #canRecomputeOutput}). */
    protected Tensor recomputeOutput() {
        throw new IllegalStateException(name() + " cannot recompute its output (canRecomputeOutput is false)");
    }

    /** The output's storage has been given back: forget any reference to it. */
    protected void outputReleased() {}

    /** The output recomputed once for all its readers in backward; given back when this node is released. */
    protected final Tensor recomputedOutput() {
        if (recomputed == null) {
            long t0 = OpProfile.now();
            recomputed = recomputeOutput();
            OpProfile.add(profileBase() + " recompute", 0, t0);
        }
        return recomputed;
    }

    private String profileBase() {
        String k = profileKey();
        return k == null ? name() : k.endsWith(" bwd") ? k.substring(0, k.length() - 4) : k;
    }

    final void markReleased() {
        released = true;
        release();
        if (recomputed != null) {
            org.resnet4j.tensor.BufferPool.recycle(recomputed.data());
            recomputed = null;
        }
    }

    final boolean isReleased() {
        return released;
    }

    /** True if the i-th input wants a gradient. */
    protected boolean needs(int i) {
        return inputs[i] != null && inputs[i].requiresGrad();
    }

    /**
     * Wraps an op result: records this node as its creator when grad mode is on and some input
     * requires grad; otherwise the result is a plain constant and nothing is kept.
     */
    public static Variable record(Tensor result, java.util.function.Supplier<? extends Node> node, Variable... inputs) {
        Variable out = new Variable(result, false);
        if (!GradMode.isEnabled()) return out;
        boolean any = false;
        for (Variable v : inputs) any |= v != null && v.requiresGrad();
        if (!any) return out;
        Node n = node.get();
        n.output = out;
        out.attach(n);
        return out;
    }
}
