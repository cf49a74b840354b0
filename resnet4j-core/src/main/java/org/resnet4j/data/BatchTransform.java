package org.resnet4j.data;

import java.util.List;
import java.util.SplittableRandom;

/**
 * A transform of a whole batch (torchvision.transforms.v2.MixUp / CutMix work on batches, after
 * collation). Like {@link Transform}, all randomness comes from {@code rng}, and the input batch
 * is not modified.
 */
@FunctionalInterface
public interface BatchTransform {
    Batch apply(Batch batch, SplittableRandom rng);

    /**
     * One of {@code options}, chosen uniformly per batch: torchvision's recipe
     * {@code v2.RandomChoice([CutMix(), MixUp()])}.
     */
    static BatchTransform randomChoice(BatchTransform... options) {
        List<BatchTransform> list = List.of(options);
        if (list.isEmpty()) throw new IllegalArgumentException("randomChoice needs at least one transform");
        return (batch, rng) -> list.get(rng.nextInt(list.size())).apply(batch, rng);
    }
}
