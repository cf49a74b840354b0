package org.resnet4j.data;

import java.util.SplittableRandom;
import org.resnet4j.tensor.Tensor;

/**
 * A per-image transform, as a torchvision transform applied to one CHW tensor.
 *
 * <p>Unlike torchvision, which draws from torch's global generator, every random choice comes
 * from the {@code rng} argument: {@link DataLoader} hands each sample a generator derived from
 * (seed, epoch, index), so augmentation does not depend on thread scheduling. Implementations
 * must not modify their input (they may return it unchanged when there is nothing to do) and
 * must be safe to call from several threads at once; the ones in this package are immutable.
 */
@FunctionalInterface
public interface Transform {
    Tensor apply(Tensor chw, SplittableRandom rng);

    /** This transform, then {@code next}. */
    default Transform andThen(Transform next) {
        java.util.Objects.requireNonNull(next, "next");
        return (chw, rng) -> next.apply(apply(chw, rng), rng);
    }
}
