package org.resnet4j.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.LossOps;
import org.resnet4j.autograd.ops.SyncBatchNormOp;
import org.resnet4j.data.Batch;
import org.resnet4j.data.DataLoader;
import org.resnet4j.data.Dataset;
import org.resnet4j.data.Example;
import org.resnet4j.data.Transform;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.Parameter;
import org.resnet4j.tensor.BufferPool;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.Evaluation;

/**
 * One model replica on an executor, kept between steps so that the model, the dataset and the
 * activation buffers are built once per executor JVM rather than once per step. Keeping it is
 * only a saving: every step first loads the broadcast parameters and buffers into it, so a
 * replica rebuilt on another executor computes the same thing.
 */
final class Replica {
    /** Replicas of the trainer that ran last in this JVM, by "trainer id/replica index". */
    private static final Map<String, Replica> CACHE = new ConcurrentHashMap<>();

    private final Module model;
    private final List<Parameter> params;
    private final Dataset dataset;
    private final Transform transform;
    private final DataLoader sampler; // for DataLoader's per-sample generators only
    private final BufferPool pool = new BufferPool(true);

    private Replica(SerializableSupplier<? extends Module> modelFactory, TrainingData data) {
        this.model = modelFactory.get();
        this.params = model.parameters();
        this.dataset = data.dataset().get();
        this.transform = data.transform() == null ? null : data.transform().get();
        this.sampler = new DataLoader(dataset, null, 1, true, data.seed(), 0, 0, true);
    }

    /** This JVM's replica {@code index} of trainer {@code trainerId}; replicas of other trainers are dropped. */
    static Replica get(String trainerId, int index, SerializableSupplier<? extends Module> modelFactory, TrainingData data) {
        String key = trainerId + "/" + index;
        Replica r = CACHE.get(key);
        if (r != null) return r;
        CACHE.keySet().removeIf(k -> !k.startsWith(trainerId + "/"));
        return CACHE.computeIfAbsent(key, k -> new Replica(modelFactory, data));
    }

    /** Forgets trainer {@code trainerId}'s replicas in this JVM (the driver's, in local mode). */
    static void forget(String trainerId) {
        CACHE.keySet().removeIf(k -> k.startsWith(trainerId + "/"));
    }

    /** The model's buffers in state-dict order (running statistics, batch counts). */
    static List<Tensor> buffers(Module model) {
        List<Tensor> out = new ArrayList<>();
        for (Module m : model.namedModules().values()) out.addAll(m.ownBuffers().values());
        return out;
    }

    /**
     * One forward and backward pass over {@code shard}: the gradient of the shard's summed loss
     * divided by {@code globalBatch}, so that the replicas' gradients add up to the gradient of the
     * global batch's mean loss (Goyal et al. 2017, "Accurate, Large Minibatch SGD", section 3:
     * each worker's loss is normalised by the total minibatch size kn, not its own n). The
     * cross-entropy op returns the shard's mean, so its backward is seeded with
     * {@code shard.length / globalBatch} instead of 1.
     *
     * <p>Synchronized: a replica is one model, and Spark might run a task twice at once
     * (speculation, a retried stage).
     */
    synchronized GradientSum compute(ModelState state, int[] shard, int epoch, int globalBatch, int replica) {
        return compute(state, shard, epoch, globalBatch, replica, null);
    }

    /**
     * As above; with {@code sync} not null, batch norm normalises with the statistics of all
     * replicas' shards, summed through {@code sync} ({@link SyncBatchNormOp}).
     */
    synchronized GradientSum compute(ModelState state, int[] shard, int epoch, int globalBatch, int replica,
                                     SyncBatchNormOp.AllReduce sync) {
        long t0 = System.nanoTime();
        state.loadInto(model);
        model.train();
        model.zeroGrad();
        List<Example> examples = new ArrayList<>(shard.length);
        for (int index : shard) examples.add(load(epoch, index));
        Batch b = Batch.stack(examples);
        GradientSum out = new GradientSum();
        if (sync == null) forwardBackward(b, globalBatch, replica, epoch, out);
        else SyncBatchNormOp.with(sync, () -> forwardBackward(b, globalBatch, replica, epoch, out));
        out.samples = shard.length;
        out.computeSeconds = (System.nanoTime() - t0) / 1e9; // with synchronized batch norm, its all-reduces included
        out.grads = new float[params.size()][];
        for (int i = 0; i < params.size(); i++) {
            Tensor g = params.get(i).grad();
            out.grads[i] = g == null ? null : g.data().clone();
        }
        model.zeroGrad();
        // DDP keeps rank 0's buffers (broadcast_buffers): only replica 0's running statistics travel
        if (replica == 0) {
            List<Tensor> bufs = buffers(model);
            out.buffers = new float[bufs.size()][];
            for (int i = 0; i < bufs.size(); i++) out.buffers[i] = bufs.get(i).data().clone();
            out.buffersFrom = 0;
        }
        return out;
    }

    /** The pass itself; fills {@code out}'s loss and correct count, leaves the gradients on the parameters. */
    private GradientSum forwardBackward(Batch b, int globalBatch, int replica, int epoch, GradientSum out) {
        try (var step = pool.open()) {
            Variable logits = model.call(Variable.constant(b.images()));
            Variable loss = LossOps.crossEntropy(logits, b.labels(), 0f);
            float mean = loss.value().data()[0];
            // a failed barrier task ends its whole stage, so replicas waiting on this one's batch-norm sums are not left hanging
            if (!Float.isFinite(mean)) throw new ArithmeticException("loss became " + mean + " on replica " + replica + " in epoch " + epoch);
            out.correct = Evaluation.topk(logits.value(), b.labels())[0]; // before backward gives the logits' buffer back
            loss.backward(Tensor.scalar((float) b.size() / globalBatch));
            out.lossSum = (double) mean * b.size();
        }
        return out;
    }

    /** Sample {@code index} as DataLoader loads it in epoch {@code epoch}. */
    private Example load(int epoch, int index) {
        try {
            Example ex = dataset.get(index);
            if (transform == null) return ex;
            return new Example(transform.apply(ex.image(), sampler.sampleRng(epoch, index)), ex.label());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("loading sample " + index + " failed: " + e.getMessage(), e);
        }
    }
}
