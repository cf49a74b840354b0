package org.resnet4j.data.dense;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.resnet4j.data.Resize;
import org.resnet4j.data.Transform;
import org.resnet4j.tensor.Tensor;

/**
 * The transforms of torchvision's detection and segmentation references, moving boxes and masks
 * with the image: horizontal flip, resize (exact, shorter side at random, scale jitter), random
 * crop (boxes clipped, boxes left empty dropped, masks padded with {@link DenseTarget#IGNORE}), and
 * any image-only transform (photometric jitter, normalisation). Images are resized with the
 * antialiased bilinear filter of {@link Resize}; masks with nearest neighbour at pixel centres
 * (PIL's {@code NEAREST}, which the segmentation reference applies to its PIL masks), so a mask
 * keeps its class values; boxes are scaled by the same factors as the image.
 */
public final class DenseTransforms {
    private DenseTransforms() {}

    /** With probability {@code p}, the image, boxes and mask mirrored left to right. */
    public static DenseTransform horizontalFlip(double p) {
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("flip probability must be in [0, 1], got " + p);
        return (e, rng) -> rng.nextDouble() < p ? flip(e) : e;
    }

    static DenseExample flip(DenseExample e) {
        Tensor img = e.image();
        int c = img.dim(0), h = img.dim(1), w = img.dim(2);
        float[] src = img.data(), out = new float[src.length];
        for (int row = 0; row < c * h; row++) {
            for (int x = 0; x < w; x++) out[row * w + x] = src[row * w + w - 1 - x];
        }
        DenseTarget t = e.target();
        float[] b = t.boxes().clone();
        for (int i = 0; i < t.count(); i++) {
            b[4 * i] = w - t.boxes()[4 * i + 2];
            b[4 * i + 2] = w - t.boxes()[4 * i];
        }
        int[] m = null;
        if (t.semantic() != null) {
            m = new int[h * w];
            for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) m[y * w + x] = t.semantic()[y * w + w - 1 - x];
        }
        return new DenseExample(Tensor.of(out, c, h, w), new DenseTarget(b, t.labels(), t.crowd(), m, h, w));
    }

    /** To exactly height x width. */
    public static DenseTransform resize(int height, int width) {
        if (height < 1 || width < 1) throw new IllegalArgumentException("resize to " + height + "x" + width);
        return (e, rng) -> resizeTo(e, height, width);
    }

    /**
     * The shorter side to a size drawn uniformly from [minSize, maxSize] (aspect kept, torchvision's
     * int-size rule), the segmentation reference's {@code RandomResize}.
     */
    public static DenseTransform randomShorterSide(int minSize, int maxSize) {
        if (minSize < 1 || maxSize < minSize) throw new IllegalArgumentException("shorter side range [" + minSize + ", " + maxSize + "]");
        return (e, rng) -> {
            int s = minSize + rng.nextInt(maxSize - minSize + 1);
            int[] hw = new Resize(s).outputSize(e.target().height(), e.target().width());
            return resizeTo(e, hw[0], hw[1]);
        };
    }

    /**
     * The detection reference's {@code ScaleJitter} (large-scale jitter, Ghiasi et al. 2021): the
     * image scaled by min(targetH / h, targetW / w) times a factor drawn from [minScale, maxScale],
     * each side truncated to an integer.
     */
    public static DenseTransform scaleJitter(int targetHeight, int targetWidth, double minScale, double maxScale) {
        if (!(minScale > 0 && maxScale >= minScale)) throw new IllegalArgumentException("scale range [" + minScale + ", " + maxScale + "]");
        return (e, rng) -> {
            int h = e.target().height(), w = e.target().width();
            double r = Math.min((double) targetHeight / h, (double) targetWidth / w) * (minScale + (maxScale - minScale) * rng.nextDouble());
            return resizeTo(e, Math.max(1, (int) (h * r)), Math.max(1, (int) (w * r)));
        };
    }

    static DenseExample resizeTo(DenseExample e, int oh, int ow) {
        DenseTarget t = e.target();
        int h = t.height(), w = t.width();
        if (oh == h && ow == w) return e;
        Tensor img = Resize.resize(e.image(), oh, ow);
        float sx = (float) ow / w, sy = (float) oh / h;
        float[] b = t.boxes().clone();
        for (int i = 0; i < t.count(); i++) {
            b[4 * i] *= sx;
            b[4 * i + 1] *= sy;
            b[4 * i + 2] *= sx;
            b[4 * i + 3] *= sy;
        }
        int[] m = t.semantic() == null ? null : resizeMask(t.semantic(), h, w, oh, ow);
        return new DenseExample(img, new DenseTarget(b, t.labels(), t.crowd(), m, oh, ow));
    }

    /**
     * A class-index mask from h x w to oh x ow by nearest neighbour at pixel centres (PIL's
     * NEAREST): every value is one of the source's, so classes and the ignore value survive.
     */
    public static int[] resizeMask(int[] mask, int h, int w, int oh, int ow) {
        if (mask.length != h * w) throw new IllegalArgumentException("mask of " + mask.length + " pixels is not " + h + "x" + w);
        int[] m = new int[oh * ow];
        int[] xs = nearest(w, ow), ys = nearest(h, oh);
        for (int y = 0; y < oh; y++) for (int x = 0; x < ow; x++) m[y * ow + x] = mask[ys[y] * w + xs[x]];
        return m;
    }

    /** Source index of each output pixel's centre: floor((o + 0.5) * in / out), as PIL's NEAREST. */
    static int[] nearest(int in, int out) {
        int[] s = new int[out];
        for (int o = 0; o < out; o++) s[o] = (int) Math.min(in - 1, Math.floor((o + 0.5) * in / out));
        return s;
    }

    /**
     * A height x width window at a uniformly drawn position (torchvision's {@code RandomCrop}):
     * an image smaller than the window is first padded on the right and bottom (image 0, mask
     * {@link DenseTarget#IGNORE}, as the segmentation reference pads); boxes are shifted and
     * clipped to the window, and those left without area are dropped with their labels.
     */
    public static DenseTransform randomCrop(int height, int width) {
        if (height < 1 || width < 1) throw new IllegalArgumentException("crop to " + height + "x" + width);
        return (e, rng) -> {
            int h = Math.max(height, e.target().height()), w = Math.max(width, e.target().width());
            int y0 = rng.nextInt(h - height + 1), x0 = rng.nextInt(w - width + 1);
            return crop(e, y0, x0, height, width);
        };
    }

    /** The window at (y0, x0) of size height x width, padded as {@link #randomCrop} where it leaves the image. */
    static DenseExample crop(DenseExample e, int y0, int x0, int height, int width) {
        Tensor img = e.image();
        int c = img.dim(0), h = img.dim(1), w = img.dim(2);
        float[] src = img.data(), out = new float[c * height * width];
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < height; y++) {
                int sy = y0 + y;
                if (sy >= h) continue;
                for (int x = 0; x < width; x++) {
                    int sx = x0 + x;
                    if (sx < w) out[(ch * height + y) * width + x] = src[(ch * h + sy) * w + sx];
                }
            }
        }
        DenseTarget t = e.target();
        List<Integer> keep = new ArrayList<>();
        float[] clipped = new float[t.boxes().length];
        for (int i = 0; i < t.count(); i++) {
            float bx0 = clamp(t.boxes()[4 * i] - x0, width), by0 = clamp(t.boxes()[4 * i + 1] - y0, height);
            float bx1 = clamp(t.boxes()[4 * i + 2] - x0, width), by1 = clamp(t.boxes()[4 * i + 3] - y0, height);
            clipped[4 * i] = bx0;
            clipped[4 * i + 1] = by0;
            clipped[4 * i + 2] = bx1;
            clipped[4 * i + 3] = by1;
            if (bx1 > bx0 && by1 > by0) keep.add(i);
        }
        float[] b = new float[4 * keep.size()];
        int[] labels = new int[keep.size()];
        boolean[] crowd = new boolean[keep.size()];
        for (int k = 0; k < keep.size(); k++) {
            int i = keep.get(k);
            System.arraycopy(clipped, 4 * i, b, 4 * k, 4);
            labels[k] = t.labels()[i];
            crowd[k] = t.crowd()[i];
        }
        int[] m = null;
        if (t.semantic() != null) {
            m = new int[height * width];
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    int sy = y0 + y, sx = x0 + x;
                    m[y * width + x] = sy < h && sx < w ? t.semantic()[sy * w + sx] : DenseTarget.IGNORE;
                }
            }
        }
        return new DenseExample(Tensor.of(out, c, height, width), new DenseTarget(b, labels, crowd, m, height, width));
    }

    private static float clamp(float v, int max) {
        return v < 0 ? 0 : v > max ? max : v;
    }

    /**
     * An image-only transform (photometric jitter, normalisation): the annotations stay as they
     * are, so it must keep the image's size.
     */
    public static DenseTransform imageOnly(Transform t) {
        return (e, rng) -> {
            Tensor img = t.apply(e.image(), rng);
            if (img.dim(1) != e.image().dim(1) || img.dim(2) != e.image().dim(2)) {
                throw new IllegalStateException(t + " changed the image's size from " + e.image().shapeString() + " to " + img.shapeString()
                        + "; use a dense transform, which moves the annotations too");
            }
            return new DenseExample(img, e.target());
        };
    }
}
