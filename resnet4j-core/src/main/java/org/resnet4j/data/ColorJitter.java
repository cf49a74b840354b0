package org.resnet4j.data;

import java.util.SplittableRandom;
import org.resnet4j.tensor.Tensor;

/**
 * torchvision.transforms.ColorJitter(brightness, contrast, saturation, hue) on float images in
 * [0, 1] (1 or 3 channels).
 *
 * <p>As torchvision: each argument v gives the factor range [max(0, 1 - v), 1 + v] (hue: [-v, v],
 * v at most 0.5), and a range that is the single neutral value switches that adjustment off. Per
 * image, the order of the four adjustments is a random permutation drawn first, then one factor
 * per enabled adjustment, in the order brightness, contrast, saturation, hue. The adjustments are
 * the formulas of {@code torchvision.transforms.functional}:
 * <ul>
 *   <li>brightness: {@code clamp(f * x)} (blend with black);</li>
 *   <li>contrast: {@code clamp(f * x + (1 - f) * mean)} with the mean of the whole image's
 *       grayscale (0.2989 R + 0.587 G + 0.114 B);</li>
 *   <li>saturation: {@code clamp(f * x + (1 - f) * gray)} per pixel;</li>
 *   <li>hue: convert to HSV, {@code h = (h + f) mod 1}, convert back.</li>
 * </ul>
 * Saturation and hue leave 1-channel images unchanged, as torchvision does.
 */
public final class ColorJitter implements Transform {
    private final double[] brightness;
    private final double[] contrast;
    private final double[] saturation;
    private final double[] hue;

    /** Each value v >= 0 jitters by a factor in [max(0, 1 - v), 1 + v] (hue: a shift in [-v, v]); 0 disables. */
    public ColorJitter(double brightness, double contrast, double saturation, double hue) {
        this(range("brightness", brightness), range("contrast", contrast), range("saturation", saturation), hueRange(hue));
    }

    /**
     * Explicit {min, max} ranges, as torchvision's tuple arguments; {@code null} disables an
     * adjustment.
     */
    public static ColorJitter ofRanges(double[] brightness, double[] contrast, double[] saturation, double[] hue) {
        return new ColorJitter(checked("brightness", brightness, 0, Double.MAX_VALUE),
                checked("contrast", contrast, 0, Double.MAX_VALUE),
                checked("saturation", saturation, 0, Double.MAX_VALUE),
                checked("hue", hue, -0.5, 0.5));
    }

    private ColorJitter(double[] brightness, double[] contrast, double[] saturation, double[] hue) {
        this.brightness = neutral(brightness, 1) ? null : brightness;
        this.contrast = neutral(contrast, 1) ? null : contrast;
        this.saturation = neutral(saturation, 1) ? null : saturation;
        this.hue = neutral(hue, 0) ? null : hue;
    }

    private static double[] range(String name, double v) {
        if (!(v >= 0)) throw new IllegalArgumentException(name + " must be >= 0, got " + v);
        return new double[] {Math.max(0, 1 - v), 1 + v};
    }

    private static double[] hueRange(double v) {
        if (!(v >= 0 && v <= 0.5)) throw new IllegalArgumentException("hue must be in [0, 0.5], got " + v);
        return new double[] {-v, v};
    }

    private static double[] checked(String name, double[] r, double lo, double hi) {
        if (r == null) return null;
        if (r.length != 2 || !(r[0] >= lo && r[0] <= r[1] && r[1] <= hi)) {
            throw new IllegalArgumentException(name + " range must be {min, max} within [" + lo + ", " + hi + "]");
        }
        return r.clone();
    }

    private static boolean neutral(double[] r, double center) {
        return r == null || (r[0] == center && r[1] == center);
    }

    @Override
    public Tensor apply(Tensor chw, SplittableRandom rng) {
        Images.requireChw(chw, "ColorJitter");
        int[] order = {0, 1, 2, 3};
        for (int i = 3; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        double b = brightness == null ? 0 : uniform(rng, brightness);
        double c = contrast == null ? 0 : uniform(rng, contrast);
        double s = saturation == null ? 0 : uniform(rng, saturation);
        double h = hue == null ? 0 : uniform(rng, hue);
        Tensor t = chw;
        for (int op : order) {
            switch (op) {
                case 0 -> t = brightness == null ? t : adjustBrightness(t, b);
                case 1 -> t = contrast == null ? t : adjustContrast(t, c);
                case 2 -> t = saturation == null ? t : adjustSaturation(t, s);
                default -> t = hue == null ? t : adjustHue(t, h);
            }
        }
        return t;
    }

    private static double uniform(SplittableRandom rng, double[] r) {
        return r[0] + (r[1] - r[0]) * rng.nextDouble();
    }

    /** torchvision.transforms.functional.adjust_brightness. */
    public static Tensor adjustBrightness(Tensor chw, double factor) {
        checkImage(chw, "adjustBrightness");
        if (factor < 0) throw new IllegalArgumentException("brightness factor must be >= 0, got " + factor);
        float f = (float) factor;
        float[] src = chw.data();
        float[] dst = new float[src.length];
        for (int i = 0; i < src.length; i++) dst[i] = clamp(f * src[i]);
        return Tensor.of(dst, chw.shape());
    }

    /** torchvision.transforms.functional.adjust_contrast: blend with the mean grayscale level. */
    public static Tensor adjustContrast(Tensor chw, double factor) {
        checkImage(chw, "adjustContrast");
        if (factor < 0) throw new IllegalArgumentException("contrast factor must be >= 0, got " + factor);
        float[] gray = chw.dim(0) == 3 ? rgbToGrayscale(chw).data() : chw.data();
        double sum = 0;
        for (float g : gray) sum += g;
        float mean = (float) (sum / gray.length);
        float f = (float) factor;
        float rest = (float) (1 - factor);
        float[] src = chw.data();
        float[] dst = new float[src.length];
        for (int i = 0; i < src.length; i++) dst[i] = clamp(f * src[i] + rest * mean);
        return Tensor.of(dst, chw.shape());
    }

    /** torchvision.transforms.functional.adjust_saturation: blend with the per-pixel grayscale. */
    public static Tensor adjustSaturation(Tensor chw, double factor) {
        checkImage(chw, "adjustSaturation");
        if (factor < 0) throw new IllegalArgumentException("saturation factor must be >= 0, got " + factor);
        if (chw.dim(0) == 1) return chw;
        float[] gray = rgbToGrayscale(chw).data();
        int plane = gray.length;
        float f = (float) factor;
        float rest = (float) (1 - factor);
        float[] src = chw.data();
        float[] dst = new float[src.length];
        for (int k = 0; k < 3; k++) {
            for (int p = 0; p < plane; p++) dst[k * plane + p] = clamp(f * src[k * plane + p] + rest * gray[p]);
        }
        return Tensor.of(dst, chw.shape());
    }

    /**
     * torchvision.transforms.functional.adjust_hue: shift the hue by {@code factor} turns (in
     * [-0.5, 0.5]) through torchvision's tensor {@code _rgb2hsv} / {@code _hsv2rgb}.
     */
    public static Tensor adjustHue(Tensor chw, double factor) {
        checkImage(chw, "adjustHue");
        if (!(factor >= -0.5 && factor <= 0.5)) throw new IllegalArgumentException("hue factor must be in [-0.5, 0.5], got " + factor);
        if (chw.dim(0) == 1) return chw;
        int plane = chw.dim(1) * chw.dim(2);
        float[] src = chw.data();
        float[] dst = new float[src.length];
        float shift = (float) factor;
        for (int p = 0; p < plane; p++) {
            float r = src[p];
            float g = src[plane + p];
            float b = src[2 * plane + p];
            // _rgb2hsv
            float maxc = Math.max(r, Math.max(g, b));
            float minc = Math.min(r, Math.min(g, b));
            boolean eqc = maxc == minc;
            float cr = maxc - minc;
            float s = cr / (eqc ? 1f : maxc);
            float crDiv = eqc ? 1f : cr;
            float rc = (maxc - r) / crDiv;
            float gc = (maxc - g) / crDiv;
            float bc = (maxc - b) / crDiv;
            float hh;
            if (maxc == r) hh = bc - gc;
            else if (maxc == g) hh = 2f + rc - bc;
            else hh = 4f + gc - rc;
            float h = mod1(hh / 6f + 1f);
            float v = maxc;
            // shift, then _hsv2rgb
            h = mod1(h + shift);
            float i6 = (float) Math.floor(h * 6f);
            float fr = h * 6f - i6;
            int i = Math.floorMod((int) i6, 6);
            float pp = clamp(v * (1f - s));
            float q = clamp(v * (1f - s * fr));
            float t = clamp(v * (1f - s * (1f - fr)));
            float ro;
            float go;
            float bo;
            switch (i) {
                case 0 -> { ro = v; go = t; bo = pp; }
                case 1 -> { ro = q; go = v; bo = pp; }
                case 2 -> { ro = pp; go = v; bo = t; }
                case 3 -> { ro = pp; go = q; bo = v; }
                case 4 -> { ro = t; go = pp; bo = v; }
                default -> { ro = v; go = pp; bo = q; }
            }
            dst[p] = ro;
            dst[plane + p] = go;
            dst[2 * plane + p] = bo;
        }
        return Tensor.of(dst, chw.shape());
    }

    /** torchvision.transforms.functional.rgb_to_grayscale (ITU-R 601-2 luma): a [1, H, W] tensor. */
    public static Tensor rgbToGrayscale(Tensor chw) {
        Images.requireChw(chw, "rgbToGrayscale");
        if (chw.dim(0) != 3) throw new IllegalArgumentException("rgbToGrayscale needs 3 channels, got " + chw.shapeString());
        int plane = chw.dim(1) * chw.dim(2);
        float[] src = chw.data();
        float[] dst = new float[plane];
        for (int p = 0; p < plane; p++) dst[p] = 0.2989f * src[p] + 0.587f * src[plane + p] + 0.114f * src[2 * plane + p];
        return Tensor.of(dst, 1, chw.dim(1), chw.dim(2));
    }

    /** Python's {@code x % 1.0} for floats: the result is in [0, 1). */
    private static float mod1(float x) {
        float m = x - (float) Math.floor(x);
        return m >= 1f ? 0f : m;
    }

    private static float clamp(float v) {
        return v < 0f ? 0f : v > 1f ? 1f : v;
    }

    private static void checkImage(Tensor chw, String who) {
        Images.requireChw(chw, who);
        if (chw.dim(0) != 1 && chw.dim(0) != 3) {
            throw new IllegalArgumentException(who + " needs a 1- or 3-channel image, got " + chw.shapeString());
        }
    }

    @Override
    public String toString() {
        return "ColorJitter(brightness=" + str(brightness) + ", contrast=" + str(contrast) + ", saturation="
                + str(saturation) + ", hue=" + str(hue) + ")";
    }

    private static String str(double[] r) {
        return r == null ? "None" : "(" + r[0] + ", " + r[1] + ")";
    }
}
