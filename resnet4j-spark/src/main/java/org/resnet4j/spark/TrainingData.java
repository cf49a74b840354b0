package org.resnet4j.spark;

import java.io.Serializable;
import java.util.Objects;
import org.resnet4j.data.Dataset;
import org.resnet4j.data.Transform;

/**
 * Where every replica reads its shard from: a dataset and a per-sample transform, each rebuilt on
 * the executor from a serializable factory (a dataset holds open files or caches, which do not
 * travel), and the seed of the sampler.
 *
 * <p>The executors must all see the same dataset: a synthetic one, or files on storage every
 * executor can read. Samples are loaded as {@link org.resnet4j.data.DataLoader} loads them
 * (the transform gets the generator of (seed, epoch, index)), so a global batch is bit for bit
 * the batch a single machine's loader gives. An unreadable sample fails the step: a single-machine
 * loader skips it and fills the batch from the next samples, which would move every later sample
 * to another replica.
 *
 * @param dataset builds the dataset on each executor (and once on the driver, for its size)
 * @param transform builds the per-sample transform, or null for none
 * @param seed the sampler's seed: the order of each epoch and each sample's generator derive from it
 */
public record TrainingData(SerializableSupplier<? extends Dataset> dataset, SerializableSupplier<? extends Transform> transform,
                           long seed) implements Serializable {
    public TrainingData {
        Objects.requireNonNull(dataset, "dataset");
    }

    /** Without a transform. */
    public TrainingData(SerializableSupplier<? extends Dataset> dataset, long seed) {
        this(dataset, null, seed);
    }
}
