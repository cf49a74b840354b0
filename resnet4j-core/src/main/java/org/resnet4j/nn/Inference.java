package org.resnet4j.nn;

import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.tensor.BufferPool;
import org.resnet4j.tensor.Tensor;

/**
 * A model's forward for inference, called again and again (a serving loop, an evaluation): eval
 * mode, no graph, and the activation arrays of one call reused by the next from a
 * {@link BufferPool}. Inside a call the fused residual blocks and stages give each inner output
 * back as soon as the next layer has read it ({@link Fusion#release}), so a later layer writes
 * into an array that is still in cache, and the pool holds about the largest few activations
 * rather than all of them. Without it each call allocates (and zeroes) every activation afresh:
 * about 40 MB per image for resnet50. What {@link #run} returns is the caller's to keep.
 *
 * <p>The results are bit-identical to {@code model.call(x)} in eval mode under
 * {@link GradMode#noGrad()}. One thread at a time (calls are serialized); for concurrent
 * serving, one Inference per thread. Several Inferences may run one module at once: a module
 * in training mode is put in eval mode by the first of them and back by the last (a count per
 * module), so no call runs with the batch statistics another call's end has switched back on.
 */
public final class Inference {
    private final Module model;
    private final BufferPool buffers = new BufferPool();

    public Inference(Module model) {
        this.model = model;
    }

    /** The model's output for {@code x} (in eval mode for the call; the model's mode is restored). */
    public synchronized Tensor run(Tensor x) {
        enterEval(model);
        try (var scope = buffers.open(); var noGrad = GradMode.noGrad()) {
            Tensor y = model.call(Variable.constant(x)).value();
            // a pooled result would be overwritten by the next call
            return BufferPool.isPooled(y.data()) ? y.copy() : y;
        } finally {
            exitEval(model);
        }
    }

    /**
     * Every named output of a {@link MultiOutput} model for {@code x} (a segmenter's out and aux),
     * with the same reuse as {@link #run}; the tensors are the caller's to keep.
     */
    public synchronized java.util.LinkedHashMap<String, Tensor> runAll(Tensor x) {
        if (!(model instanceof MultiOutput multi)) {
            throw new IllegalArgumentException(model.getClass().getSimpleName() + " has one output: use run");
        }
        enterEval(model);
        try (var scope = buffers.open(); var noGrad = GradMode.noGrad()) {
            java.util.LinkedHashMap<String, Tensor> out = new java.util.LinkedHashMap<>();
            multi.forwardAll(Variable.constant(x)).forEach((k, v) -> out.put(k, BufferPool.isPooled(v.value().data()) ? v.value().copy() : v.value()));
            return out;
        } finally {
            exitEval(model);
        }
    }

    /** Calls in progress on a module, and the mode the first of them found it in. */
    private static final class EvalBorrow {
        int calls;
        boolean wasTraining;
    }

    /** Modules being run by some Inference, by identity. */
    private static final java.util.Map<Module, EvalBorrow> RUNNING = new java.util.IdentityHashMap<>();

    /**
     * Puts the module in eval mode for a call. Reading the mode and switching it per call, as a
     * single caller may, races when two Inferences share the module: the second reads "eval"
     * (set by the first), the first ends and switches training back on, and the second's batch
     * norm then normalises with batch statistics. The first call in saves the mode, the last out
     * restores it.
     */
    private static void enterEval(Module model) {
        synchronized (RUNNING) {
            EvalBorrow b = RUNNING.computeIfAbsent(model, m -> new EvalBorrow());
            if (b.calls++ == 0) {
                b.wasTraining = model.isTraining();
                if (b.wasTraining) model.eval();
            }
        }
    }

    private static void exitEval(Module model) {
        synchronized (RUNNING) {
            EvalBorrow b = RUNNING.get(model);
            if (--b.calls == 0) {
                RUNNING.remove(model);
                if (b.wasTraining) model.train();
            }
        }
    }

    /** Bytes the reused activation arrays take (after a first call: about the largest few activations). */
    public long bufferBytes() {
        return buffers.bytes();
    }

    /** Arrays allocated (not reused) so far: after the first call of a given input shape it stops growing. */
    public long allocatedBuffers() {
        return buffers.allocatedCount();
    }
}
