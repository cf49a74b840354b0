package org.resnet4j.data.dense;

import java.util.Objects;
import org.resnet4j.tensor.Tensor;

/** An image (float CHW) and its {@link DenseTarget}, of the same height and width. */
public record DenseExample(Tensor image, DenseTarget target) {
    public DenseExample {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(target, "target");
        if (image.rank() != 3) throw new IllegalArgumentException("the image must be [C, H, W], got " + image.shapeString());
        if (image.dim(1) != target.height() || image.dim(2) != target.width()) {
            throw new IllegalArgumentException("the image is " + image.dim(1) + "x" + image.dim(2) + ", its target "
                    + target.height() + "x" + target.width());
        }
    }
}
