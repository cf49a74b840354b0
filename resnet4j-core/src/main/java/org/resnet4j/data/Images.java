package org.resnet4j.data;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.util.Objects;
import org.resnet4j.tensor.Tensor;

/** Pixel-level helpers shared by the transforms and the image decoders. */
final class Images {
    private Images() {}

    /** Checks that {@code t} is a real (non-meta) CHW image tensor and returns it. */
    static Tensor requireChw(Tensor t, String who) {
        Objects.requireNonNull(t, who + ": image");
        if (t.rank() != 3 || t.isMeta()) {
            throw new IllegalArgumentException(who + " expects a [C, H, W] image tensor, got "
                    + t.shapeString() + (t.isMeta() ? " (meta)" : ""));
        }
        return t;
    }

    /**
     * The h x w window whose top-left corner is (top, left), which may lie partly or wholly outside
     * the image; outside pixels are 0. This is torchvision's {@code F.crop}, which pads with zeros
     * when the window leaves the image, and RandomCrop's constant padding with fill 0.
     */
    static Tensor crop(Tensor img, int top, int left, int h, int w) {
        int c = img.dim(0);
        int ih = img.dim(1);
        int iw = img.dim(2);
        float[] src = img.data();
        float[] dst = new float[c * h * w];
        int x0 = Math.max(0, -left);
        int x1 = Math.min(w, iw - left);
        if (x1 > x0) {
            for (int ch = 0; ch < c; ch++) {
                for (int y = 0; y < h; y++) {
                    int sy = top + y;
                    if (sy < 0 || sy >= ih) continue;
                    System.arraycopy(src, (ch * ih + sy) * iw + left + x0, dst, (ch * h + y) * w + x0, x1 - x0);
                }
            }
        }
        return Tensor.of(dst, c, h, w);
    }

    /**
     * Bilinear resize of the window [top, top + ch) x [left, left + cw) (inside the image) to
     * outH x outW, as {@code torch.nn.functional.interpolate(mode="bilinear", align_corners=False,
     * antialias=False)}: source coordinate (dst + 0.5) * in / out - 0.5 clamped at 0, neighbours
     * clamped at the last row/column, float arithmetic in PyTorch's order (upsample_bilinear2d's
     * CPU kernel). Equal sizes give the window unchanged.
     */
    static Tensor resizeBilinear(Tensor img, int top, int left, int ch, int cw, int outH, int outW) {
        int c = img.dim(0);
        int ih = img.dim(1);
        int iw = img.dim(2);
        checkWindow(img, top, left, ch, cw, outH, outW);
        int[] y0 = new int[outH];
        int[] y1 = new int[outH];
        float[] ly0 = new float[outH];
        float[] ly1 = new float[outH];
        axis(ch, outH, y0, y1, ly0, ly1);
        int[] x0 = new int[outW];
        int[] x1 = new int[outW];
        float[] lx0 = new float[outW];
        float[] lx1 = new float[outW];
        axis(cw, outW, x0, x1, lx0, lx1);
        float[] src = img.data();
        float[] dst = new float[c * outH * outW];
        for (int k = 0; k < c; k++) {
            int plane = k * ih * iw;
            for (int y = 0; y < outH; y++) {
                int r0 = plane + (top + y0[y]) * iw + left;
                int r1 = plane + (top + y1[y]) * iw + left;
                int o = (k * outH + y) * outW;
                for (int x = 0; x < outW; x++) {
                    dst[o + x] = ly0[y] * (lx0[x] * src[r0 + x0[x]] + lx1[x] * src[r0 + x1[x]])
                            + ly1[y] * (lx0[x] * src[r1 + x0[x]] + lx1[x] * src[r1 + x1[x]]);
                }
            }
        }
        return Tensor.of(dst, c, outH, outW);
    }

    /**
     * Antialiased bilinear resize of the window (top, left, ch, cw) to outH x outW: PIL's
     * {@code Image.resize(BILINEAR)} and PyTorch's {@code interpolate(..., antialias=True)}. When
     * shrinking by a factor s, the triangle filter is stretched to a support of s pixels on each
     * side, so every source pixel contributes (no aliasing); when enlarging it is plain bilinear
     * with the edge weights renormalized. Separable: rows first, then columns, as PIL.
     */
    static Tensor resizeAntialiased(Tensor img, int top, int left, int ch, int cw, int outH, int outW) {
        int c = img.dim(0);
        int ih = img.dim(1);
        int iw = img.dim(2);
        checkWindow(img, top, left, ch, cw, outH, outW);
        Taps ty = Taps.of(ch, outH), tx = Taps.of(cw, outW);
        float[] src = img.data();
        float[] rows = new float[ch * outW]; // one channel's window after the horizontal pass
        float[] dst = new float[c * outH * outW];
        for (int k = 0; k < c; k++) {
            for (int y = 0; y < ch; y++) {
                int in = (k * ih + top + y) * iw + left;
                for (int x = 0; x < outW; x++) {
                    float acc = 0;
                    int base = x * tx.width;
                    for (int j = 0; j < tx.count[x]; j++) acc += tx.weight[base + j] * src[in + tx.first[x] + j];
                    rows[y * outW + x] = acc;
                }
            }
            for (int y = 0; y < outH; y++) {
                int o = (k * outH + y) * outW;
                int base = y * ty.width;
                // taps outermost so rows are read in order; each output still sums its taps in order j = 0, 1, ...
                for (int j = 0; j < ty.count[y]; j++) {
                    float wj = ty.weight[base + j];
                    int r = (ty.first[y] + j) * outW;
                    for (int x = 0; x < outW; x++) dst[o + x] += wj * rows[r + x];
                }
            }
        }
        return Tensor.of(dst, c, outH, outW);
    }

    /**
     * Per output index along one axis: the first source index, how many follow, and their
     * normalized triangle-filter weights (PIL's precompute_coeffs; PyTorch's
     * _compute_indices_weights_aa), stored {@code width} apart.
     */
    private record Taps(int[] first, int[] count, float[] weight, int width) {
        static Taps of(int in, int out) {
            double scale = (double) in / out;
            double support = scale >= 1 ? scale : 1.0; // triangle filter: support 1, stretched when shrinking
            double inv = scale >= 1 ? 1 / scale : 1.0;
            int width = (int) Math.ceil(support) * 2 + 1;
            int[] first = new int[out], count = new int[out];
            float[] weight = new float[out * width];
            double[] w = new double[width];
            for (int d = 0; d < out; d++) {
                double center = scale * (d + 0.5);
                int lo = Math.max((int) (center - support + 0.5), 0);
                int n = Math.min((int) (center + support + 0.5), in) - lo;
                double total = 0;
                for (int j = 0; j < n; j++) {
                    double t = Math.abs((j + lo - center + 0.5) * inv);
                    w[j] = t < 1 ? 1 - t : 0;
                    total += w[j];
                }
                first[d] = lo;
                count[d] = n;
                for (int j = 0; j < n; j++) weight[d * width + j] = (float) (total != 0 ? w[j] / total : 0);
            }
            return new Taps(first, count, weight, width);
        }
    }

    private static void checkWindow(Tensor img, int top, int left, int ch, int cw, int outH, int outW) {
        if (top < 0 || left < 0 || ch < 1 || cw < 1 || top + ch > img.dim(1) || left + cw > img.dim(2)) {
            throw new IllegalArgumentException("resize window (" + top + ", " + left + ", " + ch + ", " + cw
                    + ") is not inside the image " + img.shapeString());
        }
        if (outH < 1 || outW < 1) throw new IllegalArgumentException("output size must be positive, got " + outH + "x" + outW);
    }

    /** Per output index: the two source indices and their weights (PyTorch's area_pixel_compute_source_index). */
    private static void axis(int in, int out, int[] i0, int[] i1, float[] l0, float[] l1) {
        float scale = (float) in / out;
        for (int d = 0; d < out; d++) {
            float src = Math.max(scale * (d + 0.5f) - 0.5f, 0f);
            int lo = Math.min((int) src, in - 1);
            int step = lo < in - 1 ? 1 : 0;
            float lambda = Math.min(Math.max(src - lo, 0f), 1f);
            i0[d] = lo;
            i1[d] = lo + step;
            l1[d] = lambda;
            l0[d] = 1f - lambda;
        }
    }

    /**
     * A decoded image as float32 RGB CHW in [0, 1], as PIL's {@code convert("RGB")} followed by
     * {@code ToTensor}: grayscale is copied to the three channels, alpha is dropped (not
     * composited), palette images are looked up. Gray and 8/16-bit sRGB rasters are read
     * directly, because {@link BufferedImage#getRGB} would push linear-gray images through a
     * colour conversion and brighten them; everything else goes through getRGB (sRGB).
     */
    static Tensor toRgbTensor(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        int plane = h * w;
        float[] out = new float[3 * plane];
        ColorModel cm = img.getColorModel();
        Raster raster = img.getRaster();
        int transfer = raster.getTransferType();
        boolean integer = transfer == DataBuffer.TYPE_BYTE || transfer == DataBuffer.TYPE_USHORT;
        int[] row = new int[w];
        if (cm instanceof ComponentColorModel && integer && cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY) {
            // Divide (not multiply by a reciprocal) so 8-bit values are exactly ToTensor's byte / 255.
            float max = (1 << cm.getComponentSize(0)) - 1;
            for (int y = 0; y < h; y++) {
                raster.getSamples(0, y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    float v = row[x] / max;
                    int p = y * w + x;
                    out[p] = v;
                    out[plane + p] = v;
                    out[2 * plane + p] = v;
                }
            }
        } else if (cm instanceof ComponentColorModel && integer && cm.getColorSpace().isCS_sRGB()
                && cm.getNumColorComponents() == 3) {
            for (int band = 0; band < 3; band++) {
                float max = (1 << cm.getComponentSize(band)) - 1;
                for (int y = 0; y < h; y++) {
                    raster.getSamples(0, y, w, 1, band, row);
                    int o = band * plane + y * w;
                    for (int x = 0; x < w; x++) out[o + x] = row[x] / max;
                }
            }
        } else {
            for (int y = 0; y < h; y++) {
                img.getRGB(0, y, w, 1, row, 0, w);
                for (int x = 0; x < w; x++) {
                    int argb = row[x];
                    int p = y * w + x;
                    out[p] = ((argb >> 16) & 0xff) / 255f;
                    out[plane + p] = ((argb >> 8) & 0xff) / 255f;
                    out[2 * plane + p] = (argb & 0xff) / 255f;
                }
            }
        }
        return Tensor.of(out, 3, h, w);
    }
}
