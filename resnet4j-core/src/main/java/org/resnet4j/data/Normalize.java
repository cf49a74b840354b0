package org.resnet4j.data;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.resnet4j.tensor.Tensor;

/**
 * torchvision.transforms.Normalize(mean, std): {@code (x - mean[c]) / std[c]} per channel, in
 * float32 and in that order (torchvision's {@code tensor.sub_(mean).div_(std)}).
 */
public final class Normalize implements Transform {
    private final float[] mean;
    private final float[] std;

    public Normalize(float[] mean, float[] std) {
        if (mean.length == 0 || mean.length != std.length) {
            throw new IllegalArgumentException("mean and std need one value per channel, got " + mean.length + " and " + std.length);
        }
        for (float s : std) {
            // torchvision raises "std evaluated to zero after conversion to float32, leading to division by zero".
            if (s == 0 || !Float.isFinite(s)) throw new IllegalArgumentException("std must be finite and non-zero, got " + Arrays.toString(std));
        }
        this.mean = mean.clone();
        this.std = std.clone();
    }

    /** The ImageNet statistics every torchvision classification model was trained with. */
    public static Normalize imagenet() {
        return new Normalize(new float[] {0.485f, 0.456f, 0.406f}, new float[] {0.229f, 0.224f, 0.225f});
    }

    @Override
    public Tensor apply(Tensor chw, SplittableRandom rng) {
        Images.requireChw(chw, "Normalize");
        int c = chw.dim(0);
        if (c != mean.length) {
            throw new IllegalArgumentException("Normalize has " + mean.length + " channel statistics but the image is " + chw.shapeString());
        }
        int plane = chw.dim(1) * chw.dim(2);
        float[] src = chw.data();
        float[] dst = new float[src.length];
        for (int k = 0; k < c; k++) {
            float m = mean[k];
            float s = std[k];
            for (int i = k * plane, e = i + plane; i < e; i++) dst[i] = (src[i] - m) / s;
        }
        return Tensor.of(dst, chw.shape());
    }

    @Override
    public String toString() {
        return "Normalize(mean=" + Arrays.toString(mean) + ", std=" + Arrays.toString(std) + ")";
    }
}
