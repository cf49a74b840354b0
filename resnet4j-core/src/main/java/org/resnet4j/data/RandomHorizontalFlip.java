package org.resnet4j.data;

import java.util.SplittableRandom;
import org.resnet4j.tensor.Tensor;

/** torchvision.transforms.RandomHorizontalFlip(p): mirror left-right with probability p (default 0.5). */
public final class RandomHorizontalFlip implements Transform {
    private final double p;

    public RandomHorizontalFlip() {
        this(0.5);
    }

    public RandomHorizontalFlip(double p) {
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("p must be in [0, 1], got " + p);
        this.p = p;
    }

    @Override
    public Tensor apply(Tensor chw, SplittableRandom rng) {
        Images.requireChw(chw, "RandomHorizontalFlip");
        // torchvision: "if torch.rand(1) < self.p: return F.hflip(img)"; one draw either way.
        return rng.nextDouble() < p ? hflip(chw) : chw;
    }

    /** torchvision.transforms.functional.hflip: reverses the last (width) axis. */
    public static Tensor hflip(Tensor chw) {
        Images.requireChw(chw, "hflip");
        int w = chw.dim(2);
        int rows = chw.dim(0) * chw.dim(1);
        float[] src = chw.data();
        float[] dst = new float[src.length];
        for (int r = 0; r < rows; r++) {
            int o = r * w;
            for (int x = 0; x < w; x++) dst[o + x] = src[o + w - 1 - x];
        }
        return Tensor.of(dst, chw.shape());
    }

    @Override
    public String toString() {
        return "RandomHorizontalFlip(p=" + p + ")";
    }
}
