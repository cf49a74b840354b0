package org.resnet4j.spark;

import org.resnet4j.data.DataLoader;
import org.resnet4j.data.Dataset;

/**
 * Which samples step t trains on, and which of them each replica gets.
 *
 * <p>The global batch of step t is the batch a single machine's {@link DataLoader} (shuffled,
 * {@code drop_last}, same seed) yields as its t-th batch: epoch {@code t / batchesPerEpoch}, the
 * {@code t % batchesPerEpoch}-th run of {@code globalBatch} indices of that epoch's order. Replica r
 * takes the r-th contiguous slice of {@code globalBatch / replicas} of them, so the shards are
 * disjoint and their union is exactly the single-machine batch, in order. (PyTorch's
 * DistributedSampler deals indices round-robin instead; contiguous slices make shard r of a
 * step a plain sub-batch of the single-machine batch, which is what the equality with one
 * machine is stated against.)
 */
public final class BatchPlan {
    private final DataLoader sampler;
    private final int globalBatch, replicas, batchesPerEpoch;
    private int cachedEpoch = -1;
    private int[] cachedOrder;

    /**
     * @throws IllegalArgumentException when the global batch is not a multiple of the replica
     *         count, or is larger than the dataset
     */
    public BatchPlan(Dataset dataset, int globalBatch, int replicas, long seed) {
        if (replicas < 1) throw new IllegalArgumentException("replicas must be >= 1, got " + replicas);
        if (globalBatch < 1) throw new IllegalArgumentException("global batch must be >= 1, got " + globalBatch);
        if (globalBatch % replicas != 0) {
            throw new IllegalArgumentException("global batch " + globalBatch + " is not divisible by " + replicas
                    + " replicas: every replica takes an equal slice of it (use a multiple of " + replicas + ", e.g. "
                    + (globalBatch / replicas) * replicas + " or " + (globalBatch / replicas + 1) * replicas + ")");
        }
        // workers 0: no thread pool; the loader is used only for its order and sample generators
        this.sampler = new DataLoader(dataset, null, globalBatch, true, seed, 0, 0, true);
        this.globalBatch = globalBatch;
        this.replicas = replicas;
        this.batchesPerEpoch = sampler.batchesPerEpoch();
        if (batchesPerEpoch < 1) {
            throw new IllegalArgumentException("global batch " + globalBatch + " is larger than the dataset (" + dataset.size() + " samples)");
        }
    }

    /** Steps in one pass over the data ({@code drop_last}: the incomplete last batch is not used). */
    public int batchesPerEpoch() {
        return batchesPerEpoch;
    }

    /** The epoch step {@code step} (from 0) falls in. */
    public int epoch(long step) {
        if (step < 0) throw new IllegalArgumentException("step must be >= 0, got " + step);
        long e = step / batchesPerEpoch;
        if (e > Integer.MAX_VALUE) throw new IllegalArgumentException("step " + step + " is past the last epoch a loader can number");
        return (int) e;
    }

    /** The dataset indices of step {@code step}'s global batch, in the single-machine batch's order. */
    public int[] globalBatch(long step) {
        int epoch = epoch(step);
        if (epoch != cachedEpoch) {
            cachedOrder = sampler.order(epoch);
            cachedEpoch = epoch;
        }
        int from = (int) (step % batchesPerEpoch) * globalBatch;
        return java.util.Arrays.copyOfRange(cachedOrder, from, from + globalBatch);
    }

    /** Replica {@code replica}'s contiguous slice of {@code global}. */
    public int[] shard(int[] global, int replica) {
        if (replica < 0 || replica >= replicas) throw new IllegalArgumentException("replica " + replica + " outside [0, " + replicas + ")");
        int n = global.length / replicas;
        return java.util.Arrays.copyOfRange(global, replica * n, (replica + 1) * n);
    }

    public int globalBatchSize() {
        return globalBatch;
    }

    public int replicas() {
        return replicas;
    }
}
