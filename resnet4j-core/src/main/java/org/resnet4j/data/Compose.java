package org.resnet4j.data;

import java.util.List;
import java.util.SplittableRandom;
import org.resnet4j.tensor.Tensor;

/** torchvision.transforms.Compose: the transforms in order, sharing one generator. */
public final class Compose implements Transform {
    private final List<Transform> transforms;

    public Compose(Transform... transforms) {
        this(List.of(transforms));
    }

    public Compose(List<? extends Transform> transforms) {
        this.transforms = List.copyOf(transforms);
    }

    @Override
    public Tensor apply(Tensor chw, SplittableRandom rng) {
        Tensor t = chw;
        for (Transform tr : transforms) t = tr.apply(t, rng);
        return t;
    }

    public List<Transform> transforms() {
        return transforms;
    }

    @Override
    public String toString() {
        return "Compose" + transforms;
    }
}
