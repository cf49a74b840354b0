package org.resnet4j.detection;

import java.util.ArrayList;
import java.util.List;
import org.resnet4j.tensor.Tensor;

/**
 * torchvision's GeneralizedRCNNTransform (models/detection/transform.py), the detector's input
 * side: each [3, H, W] image (values in [0, 1]) is normalized with the mean and std, resized so
 * that its short side is {@code minSize} unless its long side would then exceed {@code maxSize},
 * and the batch is zero-padded at the bottom and right to a common size that is a multiple of
 * {@code sizeDivisible} (32: the stride of C5, so every level's grid lines up with the image).
 *
 * <p>The resize is torchvision 0.14's {@code _resize_image_and_masks}: the scale is computed in
 * float32 as {@code min(minSize / short, maxSize / long)} (the division being PyTorch's
 * {@code reciprocal() * value}), the output size is {@code floor(side * scale)} in double, and
 * {@code F.interpolate(mode="bilinear", align_corners=False, recompute_scale_factor=True)} then
 * samples with the ratio in / out of those integer sizes (float32), the source positions in double
 * and the weights and sums in float32, as ATen's CPU kernel does.
 * Boxes follow with ratios new / old in float32 ({@code resize_boxes}), and detections are mapped
 * back to the original image the same way.
 */
public final class GeneralizedRcnnTransform {
    /** ImageNet's mean and std, what torchvision's detectors normalize with. */
    public static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f}, IMAGENET_STD = {0.229f, 0.224f, 0.225f};
    public final int minSize, maxSize, sizeDivisible;
    private final float[] mean, std;

    /** A padded batch ([N, 3, H, W]) and each image's size after resizing, before padding ({height, width}). */
    public record ImageList(Tensor tensors, int[][] imageSizes) {}

    public GeneralizedRcnnTransform(int minSize, int maxSize, float[] mean, float[] std, int sizeDivisible) {
        if (minSize < 1 || maxSize < 1 || sizeDivisible < 1) {
            throw new IllegalArgumentException("transform: min_size " + minSize + ", max_size " + maxSize + " and size_divisible "
                    + sizeDivisible + " must be >= 1");
        }
        if (mean.length != std.length) throw new IllegalArgumentException("transform: " + mean.length + " means for " + std.length + " stds");
        this.minSize = minSize;
        this.maxSize = maxSize;
        this.sizeDivisible = sizeDivisible;
        this.mean = mean.clone();
        this.std = std.clone();
    }

    /** ImageNet normalization, padding to multiples of 32. */
    public GeneralizedRcnnTransform(int minSize, int maxSize) {
        this(minSize, maxSize, IMAGENET_MEAN, IMAGENET_STD, 32);
    }

    /** Normalizes and resizes each image, pads them into one batch; {@code targets} (may be null) get resized boxes. */
    public ImageList apply(List<Tensor> images, List<DetectionTarget> targets, List<DetectionTarget> resizedTargets) {
        if (images.isEmpty()) throw new IllegalArgumentException("transform: no images");
        if (targets != null && targets.size() != images.size()) {
            throw new IllegalArgumentException("transform: " + images.size() + " images but " + targets.size() + " targets");
        }
        List<Tensor> resized = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            Tensor img = images.get(i);
            if (img.rank() != 3) {
                throw new IllegalArgumentException("images is expected to be a list of 3d tensors of shape [C, H, W], got "
                        + img.shapeString() + " (image " + i + ")");
            }
            Tensor r = resize(normalize(img));
            resized.add(r);
            if (targets != null) {
                DetectionTarget t = targets.get(i);
                resizedTargets.add(new DetectionTarget(resizeBoxes(t.boxes(), img.dim(1), img.dim(2), r.dim(1), r.dim(2)), t.labels()));
            }
        }
        return batch(resized);
    }

    /** (image - mean[c]) / std[c] in float32. */
    public Tensor normalize(Tensor image) {
        int c = image.dim(0);
        if (c != mean.length) {
            throw new IllegalArgumentException("transform: image " + image.shapeString() + " has " + c + " channels, the mean has "
                    + mean.length);
        }
        Tensor out = Tensor.zeros(image.shape());
        float[] s = image.data(), d = out.data();
        int plane = image.dim(1) * image.dim(2);
        for (int ch = 0; ch < c; ch++) {
            for (int i = ch * plane; i < (ch + 1) * plane; i++) d[i] = (s[i] - mean[ch]) / std[ch];
        }
        return out;
    }

    /** {height, width} after the resize rule: floor(side * scale), scale = min(minSize / short, maxSize / long) in float32. */
    public int[] resizedSize(int h, int w) {
        if (h < 1 || w < 1) throw new IllegalArgumentException("transform: image of size " + h + "x" + w);
        float shortSide = Math.min(h, w), longSide = Math.max(h, w);
        float scale = Math.min((1f / shortSide) * minSize, (1f / longSide) * maxSize);
        return new int[] {(int) Math.floor(h * (double) scale), (int) Math.floor(w * (double) scale)};
    }

    /** The resize of one normalized [C, H, W] image (bilinear, align_corners=False, torchvision's sizes). */
    public Tensor resize(Tensor image) {
        int[] size = resizedSize(image.dim(1), image.dim(2));
        return bilinear(image, size[0], size[1]);
    }

    /**
     * ATen's CPU upsample_bilinear2d with align_corners=False and no scale given: per axis, ratio =
     * in / out (float32), src = ratio * (dst + 0.5) - 0.5 (in double) clamped at 0, i0 = floor(src), i1 = i0 + 1
     * unless at the edge, lambda1 = src - i0; the same size copies. Rows first, then columns:
     * (x[h0][w0] w0 + x[h0][w1] w1) h0 + (x[h1][w0] w0 + x[h1][w1] w1) h1, in float32.
     */
    static Tensor bilinear(Tensor image, int oh, int ow) {
        int c = image.dim(0), h = image.dim(1), w = image.dim(2);
        if (oh < 1 || ow < 1) throw new IllegalArgumentException("transform: resized size " + oh + "x" + ow + " from " + h + "x" + w);
        int[] h0 = new int[oh], h1 = new int[oh], w0 = new int[ow], w1 = new int[ow];
        float[] hl0 = new float[oh], hl1 = new float[oh], wl0 = new float[ow], wl1 = new float[ow];
        taps(h, oh, h0, h1, hl0, hl1);
        taps(w, ow, w0, w1, wl0, wl1);
        Tensor out = Tensor.zeros(c, oh, ow);
        float[] s = image.data(), d = out.data();
        for (int ch = 0; ch < c; ch++) {
            int base = ch * h * w, ob = ch * oh * ow;
            for (int y = 0; y < oh; y++) {
                int r0 = base + h0[y] * w, r1 = base + h1[y] * w;
                for (int x = 0; x < ow; x++) {
                    float t0 = s[r0 + w0[x]] * wl0[x] + s[r0 + w1[x]] * wl1[x];
                    float t1 = s[r1 + w0[x]] * wl0[x] + s[r1 + w1[x]] * wl1[x];
                    d[ob + y * ow + x] = t0 * hl0[y] + t1 * hl1[y];
                }
            }
        }
        return out;
    }

    private static void taps(int in, int out, int[] i0, int[] i1, float[] l0, float[] l1) {
        float ratio = (float) in / out;
        for (int o = 0; o < out; o++) {
            if (in == out) {
                i0[o] = i1[o] = o;
                l0[o] = 1f;
                continue;
            }
            // the ratio is float32 but (o + 0.5) is a double in ATen's expression, so the source index is
            // computed in double: in float32 a source near 144 would lose 1e-5 of its fraction
            double src = Math.max(ratio * (o + 0.5) - 0.5, 0.0);
            int a = (int) src;
            i0[o] = a;
            i1[o] = a + (a < in - 1 ? 1 : 0);
            l1[o] = (float) Math.min(Math.max(src - a, 0.0), 1.0);
            l0[o] = 1f - l1[o];
        }
    }

    /** The images zero-padded (bottom, right) into [N, C, H, W], H and W the largest rounded up to sizeDivisible. */
    public ImageList batch(List<Tensor> images) {
        int c = images.get(0).dim(0), mh = 0, mw = 0;
        int[][] sizes = new int[images.size()][];
        for (int i = 0; i < images.size(); i++) {
            Tensor t = images.get(i);
            if (t.dim(0) != c) throw new IllegalArgumentException("transform: image " + i + " has " + t.dim(0) + " channels, image 0 " + c);
            mh = Math.max(mh, t.dim(1));
            mw = Math.max(mw, t.dim(2));
            sizes[i] = new int[] {t.dim(1), t.dim(2)};
        }
        int bh = (int) Math.ceil((double) mh / sizeDivisible) * sizeDivisible, bw = (int) Math.ceil((double) mw / sizeDivisible) * sizeDivisible;
        Tensor out = Tensor.zeros(images.size(), c, bh, bw);
        float[] d = out.data();
        for (int i = 0; i < images.size(); i++) {
            float[] s = images.get(i).data();
            int h = sizes[i][0], w = sizes[i][1];
            for (int ch = 0; ch < c; ch++) {
                for (int y = 0; y < h; y++) System.arraycopy(s, (ch * h + y) * w, d, ((i * c + ch) * bh + y) * bw, w);
            }
        }
        return new ImageList(out, sizes);
    }

    /** torchvision's resize_boxes: x scaled by newW / oldW, y by newH / oldH, ratios and products in float32. */
    public static Tensor resizeBoxes(Tensor boxes, int oldH, int oldW, int newH, int newW) {
        float rh = (float) newH / (float) oldH, rw = (float) newW / (float) oldW;
        Tensor out = boxes.copy();
        float[] d = out.data();
        for (int i = 0; i < d.length; i++) d[i] *= (i & 1) == 0 ? rw : rh;
        return out;
    }

    @Override
    public String toString() {
        return "GeneralizedRCNNTransform(min_size=" + minSize + ", max_size=" + maxSize + ", size_divisible=" + sizeDivisible + ")";
    }
}
