package org.resnet4j.autograd;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.resnet4j.kernels.Elementwise;
import org.resnet4j.tensor.BufferPool;
import org.resnet4j.tensor.Tensor;

/**
 * A tensor in the autograd graph: its value, its gradient, and the {@link Node} that made it.
 *
 * <p>Gradients accumulate ({@code +=}, as in micrograd and PyTorch), so a value used twice
 * (the residual fan-out) needs no special case. Intermediate gradients are dropped once their
 * node has run, which keeps backward memory close to the saved activations.
 */
public class Variable {
    private Tensor value;
    private Tensor grad;
    private Node gradFn;
    private boolean requiresGrad;
    private boolean valueReleased;
    private float[] spareGrad; // a leaf's last gradient storage, kept by zeroGradKeepingStorage for reuse

    public Variable(Tensor value, boolean requiresGrad) {
        this.value = value;
        this.requiresGrad = requiresGrad;
    }

    /** A value that needs no gradient (inputs, targets). */
    public static Variable constant(Tensor value) {
        return new Variable(value, false);
    }

    /** A leaf that collects a gradient (e.g. an input whose gradient you want). */
    public static Variable leaf(Tensor value) {
        return new Variable(value, true);
    }

    public Tensor value() {
        if (valueReleased) {
            throw new IllegalStateException("this " + value.shapeString() + " value was given back to the step's buffer pool"
                    + " (BufferPool(true) releases activations during backward): read it before backward");
        }
        return value;
    }

    /**
     * Gives this value's storage back now, as {@link #releaseValue}, when its maker can compute it
     * again ({@link Node#canRecomputeOutput}): the backward that recomputes rather than stores.
     * Every op that saved the value for backward then reads it through {@link #valueForBackward},
     * which recomputes it once. For the input of a convolution that follows a fused BN+ReLU, that
     * saves one activation per convolution at the price of one elementwise pass in backward.
     */
    public void releaseRecomputable() {
        if (valueReleased || gradFn == null || !gradFn.canRecomputeOutput()) return;
        if (!BufferPool.releasesActivations() || !BufferPool.isPooled(value.data())) return;
        gradFn.outputReleased();
        BufferPool.recycle(value.data());
        valueReleased = true;
    }

    /** The value as an op's backward needs it: the stored one, or recomputed by its maker if it was given back early. */
    public Tensor valueForBackward() {
        if (!valueReleased) return value;
        if (gradFn == null || !gradFn.canRecomputeOutput()) value(); // throws: given back, and nothing can recompute it
        return gradFn.recomputedOutput();
    }

    /**
     * Gives this value's storage back to the thread's open pool now, if the pool owns it and
     * releases activations ({@link BufferPool#BufferPool(boolean)}); {@link #value()} then
     * throws instead of showing a buffer that something else reuses. The caller promises that
     * nothing reads the value any more (no op's backward does: see {@link Node#readsOwnOutput}).
     */
    public void releaseValue() {
        if (valueReleased || !BufferPool.releasesActivations() || !BufferPool.isPooled(value.data())) return;
        BufferPool.recycle(value.data());
        valueReleased = true;
    }

    /** Replaces the value (same shape), e.g. when loading weights into a parameter. */
    public void setValue(Tensor v) {
        if (!v.sameShape(value)) {
            throw new IllegalArgumentException("shape mismatch: " + value.shapeString() + " <- " + v.shapeString());
        }
        this.value = v;
    }

    public int[] shape() {
        return value.shape();
    }

    public boolean isMeta() {
        return value.isMeta();
    }

    /** The accumulated gradient, or null if none has reached this variable. */
    public Tensor grad() {
        return grad;
    }

    public void zeroGrad() {
        grad = null;
    }

    /**
     * As {@link #zeroGrad}, but the gradient's storage is kept for the next backward to compute
     * into (zeroed first), as PyTorch's {@code zero_grad(set_to_none=False)} keeps it: a training
     * loop then allocates no gradient arrays. {@link #grad()} reads null until backward writes a
     * new one; a caller that wants the old gradient past this call must copy it.
     */
    public void zeroGradKeepingStorage() {
        if (grad != null && gradFn == null && !BufferPool.isPooled(grad.data())) spareGrad = grad.data();
        grad = null;
    }

    public boolean requiresGrad() {
        return requiresGrad;
    }

    public void setRequiresGrad(boolean r) {
        if (gradFn != null && !r) throw new IllegalStateException("cannot clear requiresGrad on a non-leaf");
        requiresGrad = r;
    }

    public Node gradFn() {
        return gradFn;
    }

    /** A new leaf sharing this value, cut from the graph. */
    public Variable detach() {
        return constant(value);
    }

    void attach(Node fn) {
        this.gradFn = fn;
        this.requiresGrad = true;
    }

    /** grad += g, copying g (safe when g is shared or owned by someone else). */
    public void addGrad(Tensor g) {
        if (grad == null) {
            if (gradFn == null) { // a leaf's gradient outlives the step: on the heap
                grad = Tensor.of(leafGradStorage(g.size(), false), g.shape());
                System.arraycopy(g.data(), 0, grad.data(), 0, g.size());
            } else { // an intermediate one is dropped within the step: from the step's buffer pool, if any
                grad = Tensor.uninitialized(g.shape());
                Elementwise.copy(g.data(), grad.data(), g.size());
            }
        } else {
            addInto(grad, g);
        }
    }

    /**
     * grad += g where g is a fresh tensor nobody else holds: adopted without a copy, except by a
     * leaf (a parameter) when g lives in a {@link BufferPool}, whose buffers the next step reuses.
     */
    public void addGradOwned(Tensor g) {
        if (grad == null) {
            if (gradFn == null && BufferPool.isPooled(g.data())) {
                grad = Tensor.of(leafGradStorage(g.size(), false), g.shape());
                System.arraycopy(g.data(), 0, grad.data(), 0, g.size());
                BufferPool.recycle(g.data()); // ours to give back: the caller gave it away
            } else {
                grad = g;
            }
        } else {
            addInto(grad, g);
            BufferPool.recycle(g.data());
        }
    }

    /**
     * A zeroed tensor for a gradient of this variable to be computed into and then handed to
     * {@link #addGradOwned}: on the heap for a leaf (a parameter's gradient outlives the step,
     * and is then adopted without a copy), else from the step's pool.
     */
    public Tensor newGradBuffer(int... shape) {
        return gradFn == null ? Tensor.of(leafGradStorage(Tensor.numel(shape), true), shape) : Tensor.zeros(shape);
    }

    /** Storage for a leaf's gradient: the kept one when it fits (zeroed if asked; a caller that overwrites it all need not), else new. */
    private float[] leafGradStorage(int n, boolean zeroed) {
        float[] a = spareGrad;
        spareGrad = null;
        if (a == null || a.length != n) return new float[n];
        if (zeroed) java.util.Arrays.fill(a, 0f);
        return a;
    }

    private static void addInto(Tensor acc, Tensor g) {
        if (!acc.sameShape(g)) {
            throw new IllegalStateException("gradient shape " + g.shapeString() + " for value " + acc.shapeString());
        }
        Elementwise.addInto(acc.data(), g.data(), acc.size());
    }

    /** Backpropagates from a scalar (one-element) value with seed 1. */
    public void backward() {
        if (value.size() != 1) {
            throw new IllegalStateException("backward() without a seed needs a one-element value, got " + value.shapeString());
        }
        backward(Tensor.full(1f, value.shape()));
    }

    /**
     * Reverse-mode sweep: runs every node reachable from this value once, in reverse topological
     * order. As in PyTorch without retain_graph, the graph's saved tensors are freed on the way,
     * so a second backward through the same graph is an error; only leaves keep their gradient.
     */
    public void backward(Tensor seed) {
        if (!requiresGrad) throw new IllegalStateException("value does not require grad: nothing to backpropagate");
        if (!seed.sameShape(value)) {
            throw new IllegalArgumentException("seed shape " + seed.shapeString() + " differs from value " + value.shapeString());
        }
        if (gradFn == null) {
            addGrad(seed);
            return;
        }
        List<Node> order = topologicalOrder(gradFn);
        for (Node node : order) {
            if (node.isReleased()) {
                throw new IllegalStateException("trying to backpropagate through a graph a second time: "
                        + node.name() + " has already freed its saved tensors; run the forward pass again");
            }
        }
        addGrad(seed);
        boolean releaseActivations = BufferPool.releasesActivations();
        for (Node node : order) {
            Variable out = node.output();
            Tensor g = out.grad;
            // Intermediate gradients are not kept once consumed (PyTorch keeps only leaves' .grad).
            out.grad = null;
            if (g != null) {
                long t0 = OpProfile.now();
                node.backward(g); // null: no path from the loss reached this node
                if (t0 != 0 && node.profileKey() != null) OpProfile.add(node.profileKey(), 0, t0);
                if (!adoptedByAnInput(node, g)) BufferPool.recycle(g.data()); // consumed: the next gradient may reuse it
            }
            node.markReleased();
            // every reader of this output comes earlier in the order and has run: its storage is free
            if (releaseActivations && out != this && !sharesAnInputsStorage(node, out.value)) out.releaseValue();
        }
    }

    /** Whether a node's backward passed {@code g}'s storage on as an input's gradient (adopted, or a reshape of it). */
    private static boolean adoptedByAnInput(Node node, Tensor g) {
        for (Variable in : node.inputs()) if (in != null && in.grad != null && in.grad.data() == g.data()) return true;
        return false;
    }

    /** Whether a node's output is a view of an input or was written over one (then the input's maker gives it back). */
    private static boolean sharesAnInputsStorage(Node node, Tensor out) {
        for (Variable in : node.inputs()) if (in != null && in.value.data() == out.data()) return true;
        return false;
    }

    /** Nodes such that every node comes before the nodes of its inputs. */
    private static List<Node> topologicalOrder(Node root) {
        List<Node> post = new ArrayList<>();
        Set<Node> seen = new HashSet<>();
        ArrayDeque<Object[]> stack = new ArrayDeque<>();
        stack.push(new Object[] {root, 0});
        seen.add(root);
        while (!stack.isEmpty()) {
            Object[] top = stack.peek();
            Node n = (Node) top[0];
            int i = (Integer) top[1];
            Variable[] ins = n.inputs();
            if (i < ins.length) {
                top[1] = i + 1;
                Node child = ins[i] == null ? null : ins[i].gradFn;
                if (child != null && seen.add(child)) stack.push(new Object[] {child, 0});
            } else {
                stack.pop();
                post.add(n);
            }
        }
        java.util.Collections.reverse(post);
        return post;
    }

    @Override
    public String toString() {
        return "Variable(" + value + (requiresGrad ? ", requiresGrad" : "") + ")";
    }
}
