package org.resnet4j.data.dense;

import java.util.SplittableRandom;

/**
 * A transform that moves the annotations with the image (torchvision's detection and segmentation
 * references: {@code T(image, target) -> (image, target)}). Every random choice comes from
 * {@code rng}, as {@link org.resnet4j.data.Transform}; implementations are immutable and do not
 * modify their input.
 */
@FunctionalInterface
public interface DenseTransform {
    DenseExample apply(DenseExample e, SplittableRandom rng);

    /** This, then {@code next}. */
    default DenseTransform then(DenseTransform next) {
        return (e, rng) -> next.apply(apply(e, rng), rng);
    }
}
