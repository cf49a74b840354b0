package org.resnet4j.data;

import java.util.Objects;
import org.resnet4j.tensor.Tensor;

/**
 * One labelled sample, the {@code (image, target)} pair a torchvision classification dataset
 * returns. The image is float32 CHW; datasets deliver it in [0, 1] like {@code ToTensor}, and
 * transforms (e.g. {@link Normalize}) may move it out of that range.
 */
public record Example(Tensor image, int label) {
    public Example {
        Objects.requireNonNull(image, "image");
        if (image.rank() != 3) {
            throw new IllegalArgumentException("an example's image must be [C, H, W], got " + image.shapeString());
        }
        if (label < 0) throw new IllegalArgumentException("label must be >= 0, got " + label);
    }
}
