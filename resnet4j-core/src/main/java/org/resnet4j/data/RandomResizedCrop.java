package org.resnet4j.data;

import java.util.SplittableRandom;
import org.resnet4j.tensor.Tensor;

/**
 * torchvision.transforms.RandomResizedCrop(size, scale=(0.08, 1.0), ratio=(3/4, 4/3)): a window
 * of random area (fraction of the image in {@code scale}) and aspect ratio (log-uniform in
 * {@code ratio}), resized bilinearly to height x width. The window is drawn exactly as
 * torchvision's {@code get_params}: up to ten tries of (area, log-ratio), {@code w = round(sqrt(area
 * * ratio))}, {@code h = round(sqrt(area / ratio))} with Python's round-half-to-even, accepted if it
 * fits, then top and left uniform; after ten failures, a central crop clamped to the ratio range.
 * The resize is {@link Resize}'s default (bilinear, antialiased, as torchvision on PIL images).
 */
public final class RandomResizedCrop implements Transform {
    private final int height;
    private final int width;
    private final double scaleMin;
    private final double scaleMax;
    private final double ratioMin;
    private final double ratioMax;

    public RandomResizedCrop(int size) {
        this(size, size, 0.08, 1.0, 3.0 / 4.0, 4.0 / 3.0);
    }

    public RandomResizedCrop(int height, int width, double scaleMin, double scaleMax, double ratioMin, double ratioMax) {
        if (height < 1 || width < 1) throw new IllegalArgumentException("size must be positive, got " + height + "x" + width);
        if (!(scaleMin > 0 && scaleMin <= scaleMax && scaleMax <= 1)) {
            throw new IllegalArgumentException("scale must satisfy 0 < min <= max <= 1, got (" + scaleMin + ", " + scaleMax + ")");
        }
        if (!(ratioMin > 0 && ratioMin <= ratioMax)) {
            throw new IllegalArgumentException("ratio must satisfy 0 < min <= max, got (" + ratioMin + ", " + ratioMax + ")");
        }
        this.height = height;
        this.width = width;
        this.scaleMin = scaleMin;
        this.scaleMax = scaleMax;
        this.ratioMin = ratioMin;
        this.ratioMax = ratioMax;
    }

    /** The window {top, left, height, width} for an h x w image (torchvision's get_params). */
    public int[] params(int h, int w, SplittableRandom rng) {
        double area = (double) h * w;
        double logMin = Math.log(ratioMin);
        double logMax = Math.log(ratioMax);
        for (int attempt = 0; attempt < 10; attempt++) {
            double target = area * (scaleMin + (scaleMax - scaleMin) * rng.nextDouble());
            double aspect = Math.exp(logMin + (logMax - logMin) * rng.nextDouble());
            int cw = (int) Math.rint(Math.sqrt(target * aspect));
            int ch = (int) Math.rint(Math.sqrt(target / aspect));
            if (0 < cw && cw <= w && 0 < ch && ch <= h) {
                int top = rng.nextInt(h - ch + 1);
                int left = rng.nextInt(w - cw + 1);
                return new int[] {top, left, ch, cw};
            }
        }
        double inRatio = (double) w / h;
        int cw;
        int ch;
        if (inRatio < ratioMin) {
            cw = w;
            ch = (int) Math.rint(cw / ratioMin);
        } else if (inRatio > ratioMax) {
            ch = h;
            cw = (int) Math.rint(ch * ratioMax);
        } else {
            cw = w;
            ch = h;
        }
        return new int[] {(h - ch) / 2, (w - cw) / 2, ch, cw};
    }

    @Override
    public Tensor apply(Tensor chw, SplittableRandom rng) {
        Images.requireChw(chw, "RandomResizedCrop");
        int[] p = params(chw.dim(1), chw.dim(2), rng);
        return Images.resizeAntialiased(chw, p[0], p[1], p[2], p[3], height, width);
    }

    @Override
    public String toString() {
        return "RandomResizedCrop(size=" + height + "x" + width + ", scale=(" + scaleMin + ", " + scaleMax
                + "), ratio=(" + ratioMin + ", " + ratioMax + "))";
    }
}
