package org.resnet4j.data;

import java.util.SplittableRandom;
import org.resnet4j.tensor.Tensor;

/**
 * torchvision.transforms.Resize with bilinear interpolation, antialiased by default: the filter
 * of PIL's {@code Image.resize(BILINEAR)}, which every torchvision ImageNet model was evaluated
 * with, and of PyTorch's {@code interpolate(mode="bilinear", antialias=True)} (torchvision's
 * default since 0.17). {@code antialias(false)} gives the plain 2x2 blend of
 * {@code interpolate(mode="bilinear", align_corners=False)}, which aliases when shrinking.
 * {@code new Resize(s)} scales the shorter side to s and the longer to
 * {@code int(s * long / short)}, keeping the aspect ratio, as torchvision's int size;
 * {@code new Resize(h, w)} produces exactly h x w.
 */
public final class Resize implements Transform {
    private final int shorter;
    private final int height;
    private final int width;
    private final boolean antialias;

    private Resize(int shorter, int height, int width, boolean antialias) {
        this.shorter = shorter;
        this.height = height;
        this.width = width;
        this.antialias = antialias;
    }

    /** Shorter side to {@code shorterSide}, aspect ratio kept. */
    public Resize(int shorterSide) {
        if (shorterSide < 1) throw new IllegalArgumentException("size must be positive, got " + shorterSide);
        this.shorter = shorterSide;
        this.height = -1;
        this.width = -1;
        this.antialias = true;
    }

    /** Exactly height x width. */
    public Resize(int height, int width) {
        if (height < 1 || width < 1) throw new IllegalArgumentException("size must be positive, got " + height + "x" + width);
        this.shorter = -1;
        this.height = height;
        this.width = width;
        this.antialias = true;
    }

    /** The same resize with antialiasing on (the default) or off. */
    public Resize antialias(boolean on) {
        return new Resize(shorter, height, width, on);
    }

    @Override
    public Tensor apply(Tensor chw, SplittableRandom rng) {
        Images.requireChw(chw, "Resize");
        int h = chw.dim(1);
        int w = chw.dim(2);
        int[] out = outputSize(h, w);
        if (out[0] == h && out[1] == w) return chw;
        return antialias ? Images.resizeAntialiased(chw, 0, 0, h, w, out[0], out[1]) : Images.resizeBilinear(chw, 0, 0, h, w, out[0], out[1]);
    }

    /** The {height, width} an h x w image is resized to (torchvision's _compute_resized_output_size). */
    public int[] outputSize(int h, int w) {
        if (shorter < 0) return new int[] {height, width};
        int shortSide = Math.min(h, w);
        int longSide = Math.max(h, w);
        int newLong = (int) ((long) shorter * longSide / shortSide);
        return w <= h ? new int[] {newLong, shorter} : new int[] {shorter, newLong};
    }

    /** Antialiased bilinear resize to exactly height x width (functional form, torchvision's F.resize). */
    public static Tensor resize(Tensor chw, int height, int width) {
        Images.requireChw(chw, "resize");
        return Images.resizeAntialiased(chw, 0, 0, chw.dim(1), chw.dim(2), height, width);
    }

    @Override
    public String toString() {
        return (shorter > 0 ? "Resize(" + shorter : "Resize(" + height + "x" + width) + (antialias ? ")" : ", antialias=false)");
    }
}
