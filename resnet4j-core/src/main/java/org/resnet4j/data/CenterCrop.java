package org.resnet4j.data;

import java.util.SplittableRandom;
import org.resnet4j.tensor.Tensor;

/**
 * torchvision.transforms.CenterCrop: the central height x width window. Offsets are
 * {@code round((H - h) / 2)} with Python's round-half-to-even, as {@code F.center_crop}; a crop
 * larger than the image pads with zeros, {@code (h - H) // 2} rows above, as torchvision does.
 */
public final class CenterCrop implements Transform {
    private final int height;
    private final int width;

    public CenterCrop(int size) {
        this(size, size);
    }

    public CenterCrop(int height, int width) {
        if (height < 1 || width < 1) throw new IllegalArgumentException("crop size must be positive, got " + height + "x" + width);
        this.height = height;
        this.width = width;
    }

    @Override
    public Tensor apply(Tensor chw, SplittableRandom rng) {
        return centerCrop(chw, height, width);
    }

    /** torchvision.transforms.functional.center_crop. */
    public static Tensor centerCrop(Tensor chw, int height, int width) {
        Images.requireChw(chw, "CenterCrop");
        int h = chw.dim(1);
        int w = chw.dim(2);
        if (h == height && w == width) return chw;
        return Images.crop(chw, offset(h, height), offset(w, width), height, width);
    }

    private static int offset(int image, int crop) {
        if (crop > image) return -((crop - image) / 2);
        return (int) Math.rint((image - crop) / 2.0);
    }

    @Override
    public String toString() {
        return "CenterCrop(size=" + height + "x" + width + ")";
    }
}
