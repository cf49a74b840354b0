package org.resnet4j.data;

import java.util.SplittableRandom;
import org.resnet4j.tensor.Tensor;

/**
 * torchvision.transforms.RandomCrop(size, padding) with {@code padding_mode="constant"} and
 * {@code fill=0}: pad every side by {@code padding} zeros, then cut a height x width window at a
 * uniformly random position. As torchvision's {@code get_params}, the top offset is drawn before
 * the left one, and nothing is drawn when the padded image is exactly the crop size. The classic
 * CIFAR augmentation is {@code new RandomCrop(32, 4)}.
 */
public final class RandomCrop implements Transform {
    private final int height;
    private final int width;
    private final int padding;

    public RandomCrop(int size, int padding) {
        this(size, size, padding);
    }

    public RandomCrop(int height, int width, int padding) {
        if (height < 1 || width < 1) throw new IllegalArgumentException("crop size must be positive, got " + height + "x" + width);
        if (padding < 0) throw new IllegalArgumentException("padding must be >= 0, got " + padding);
        this.height = height;
        this.width = width;
        this.padding = padding;
    }

    @Override
    public Tensor apply(Tensor chw, SplittableRandom rng) {
        Images.requireChw(chw, "RandomCrop");
        int h = chw.dim(1) + 2 * padding;
        int w = chw.dim(2) + 2 * padding;
        if (h < height || w < width) {
            throw new IllegalArgumentException("RandomCrop: required crop size " + height + "x" + width
                    + " is larger than the padded image size " + h + "x" + w);
        }
        int top = 0;
        int left = 0;
        if (h != height || w != width) {
            top = rng.nextInt(h - height + 1);
            left = rng.nextInt(w - width + 1);
        }
        // Crop of the padded image at (top, left) = crop of the original at (top - padding, left - padding),
        // with zeros wherever the window leaves the original.
        return Images.crop(chw, top - padding, left - padding, height, width);
    }

    @Override
    public String toString() {
        return "RandomCrop(size=" + height + "x" + width + ", padding=" + padding + ")";
    }
}
