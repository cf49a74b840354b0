package org.resnet4j.data;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.resnet4j.tensor.Tensor;

/**
 * A mini-batch: images [N, C, H, W] and their labels, as {@code default_collate} stacks them.
 *
 * <p>After {@link MixUp} or {@link CutMix}, every image is a mix of the sample at its position
 * ({@code labels}, weight {@code lambda}) and another one ({@code labelsB}, weight
 * {@code 1 - lambda}); the loss is {@code lambda * CE(out, labels) + (1 - lambda) * CE(out,
 * labelsB)}, which equals torchvision v2's cross-entropy against the mixed one-hot targets. An
 * unmixed batch has {@code labelsB == null} and {@code lambda == 1}.
 *
 * <p>The arrays are shared, not copied; equality is a record's (by reference for arrays).
 */
public record Batch(Tensor images, int[] labels, int[] labelsB, float lambda) {
    public Batch {
        Objects.requireNonNull(images, "images");
        Objects.requireNonNull(labels, "labels");
        if (images.rank() != 4) throw new IllegalArgumentException("batch images must be [N, C, H, W], got " + images.shapeString());
        if (labels.length != images.dim(0)) {
            throw new IllegalArgumentException(labels.length + " labels for " + images.dim(0) + " images");
        }
        if (labelsB != null && labelsB.length != labels.length) {
            throw new IllegalArgumentException("labelsB has " + labelsB.length + " entries, labels " + labels.length);
        }
        if (!(lambda >= 0 && lambda <= 1)) throw new IllegalArgumentException("lambda must be in [0, 1], got " + lambda);
        if (labelsB == null && lambda != 1f) throw new IllegalArgumentException("an unmixed batch has lambda 1, got " + lambda);
    }

    /** An unmixed batch. */
    public Batch(Tensor images, int[] labels) {
        this(images, labels, null, 1f);
    }

    /**
     * Stacks examples into one batch (torch.utils.data.default_collate); every image must have
     * the same shape.
     */
    public static Batch stack(List<Example> examples) {
        if (examples.isEmpty()) throw new IllegalArgumentException("cannot stack an empty list of examples");
        Tensor first = examples.get(0).image();
        int[] shape = first.shape();
        int per = first.size();
        int n = examples.size();
        float[] data = new float[Math.multiplyExact(n, per)];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            Example e = examples.get(i);
            if (!e.image().hasShape(shape)) {
                throw new IllegalArgumentException("cannot stack example " + i + " of shape " + e.image().shapeString()
                        + " with example 0 of shape " + Arrays.toString(shape)
                        + "; resize or crop images to one size (Resize, CenterCrop, RandomResizedCrop)");
            }
            System.arraycopy(e.image().data(), 0, data, i * per, per);
            labels[i] = e.label();
        }
        return new Batch(Tensor.of(data, n, shape[0], shape[1], shape[2]), labels);
    }

    public int size() {
        return labels.length;
    }

    /** Whether MixUp/CutMix mixed this batch. */
    public boolean mixed() {
        return labelsB != null;
    }

    /** Image {@code i} as a [C, H, W] copy. */
    public Tensor image(int i) {
        Objects.checkIndex(i, labels.length);
        int c = images.dim(1);
        int h = images.dim(2);
        int w = images.dim(3);
        int per = c * h * w;
        float[] out = new float[per];
        System.arraycopy(images.data(), i * per, out, 0, per);
        return Tensor.of(out, c, h, w);
    }

    @Override
    public String toString() {
        return "Batch(" + images.shapeString() + (mixed() ? ", mixed lambda=" + lambda : "") + ")";
    }
}
