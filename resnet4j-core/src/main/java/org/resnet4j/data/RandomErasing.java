package org.resnet4j.data;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.resnet4j.tensor.Tensor;

/**
 * torchvision.transforms.RandomErasing(p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0)
 * (Zhong et al. 2017): with probability p, overwrite a random rectangle. The rectangle is drawn
 * exactly as torchvision's {@code get_params}: up to ten tries of area fraction in {@code scale}
 * and log-uniform aspect ratio, {@code h = round(sqrt(area * ratio))}, {@code w = round(sqrt(area /
 * ratio))} (note: h takes the product, unlike RandomResizedCrop), accepted when strictly smaller
 * than the image, then top and left uniform; after ten failures nothing is erased. The fill is a
 * constant (per channel, or one for all) or, like {@code value="random"}, standard normal noise.
 * Apply it after {@link Normalize}, as torchvision's docs do, so 0 means "the mean".
 *
 * <p>{@link #cutout(int)} is Cutout (DeVries and Taylor 2017) as their reference code draws it: a
 * fixed length x length square of zeros centred on a uniformly random pixel, clipped at the border,
 * applied to every image.
 */
public final class RandomErasing implements Transform {
    private final double p;
    private final double scaleMin;
    private final double scaleMax;
    private final double ratioMin;
    private final double ratioMax;
    private final float[] value;
    private final boolean randomValue;
    private final int cutout;

    /** torchvision's defaults: p 0.5, scale (0.02, 0.33), ratio (0.3, 3.3), value 0. */
    public RandomErasing() {
        this(0.5, 0.02, 0.33, 0.3, 3.3, 0f);
    }

    /** A constant fill {@code value} for every channel. */
    public RandomErasing(double p, double scaleMin, double scaleMax, double ratioMin, double ratioMax, float value) {
        this(p, scaleMin, scaleMax, ratioMin, ratioMax, new float[] {value}, false, 0);
    }

    /** One fill value per channel. */
    public RandomErasing(double p, double scaleMin, double scaleMax, double ratioMin, double ratioMax, float[] value) {
        this(p, scaleMin, scaleMax, ratioMin, ratioMax, value.clone(), false, 0);
    }

    private RandomErasing(double p, double scaleMin, double scaleMax, double ratioMin, double ratioMax, float[] value,
            boolean randomValue, int cutout) {
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("p must be in [0, 1], got " + p);
        if (!(scaleMin >= 0 && scaleMin <= scaleMax && scaleMax <= 1)) {
            throw new IllegalArgumentException("scale must satisfy 0 <= min <= max <= 1, got (" + scaleMin + ", " + scaleMax + ")");
        }
        if (!(ratioMin > 0 && ratioMin <= ratioMax)) {
            throw new IllegalArgumentException("ratio must satisfy 0 < min <= max, got (" + ratioMin + ", " + ratioMax + ")");
        }
        if (!randomValue && value.length == 0) throw new IllegalArgumentException("value needs at least one entry");
        this.p = p;
        this.scaleMin = scaleMin;
        this.scaleMax = scaleMax;
        this.ratioMin = ratioMin;
        this.ratioMax = ratioMax;
        this.value = value;
        this.randomValue = randomValue;
        this.cutout = cutout;
    }

    /** Erase with standard normal noise (torchvision's {@code value="random"}). */
    public static RandomErasing withNoise(double p, double scaleMin, double scaleMax, double ratioMin, double ratioMax) {
        return new RandomErasing(p, scaleMin, scaleMax, ratioMin, ratioMax, new float[0], true, 0);
    }

    /** Cutout: a length x length zero square centred on a random pixel, clipped, on every image. */
    public static RandomErasing cutout(int length) {
        if (length < 1) throw new IllegalArgumentException("cutout length must be >= 1, got " + length);
        return new RandomErasing(1.0, 0, 1, 1, 1, new float[] {0f}, false, length);
    }

    /**
     * The rectangle {top, left, height, width} for an h x w image, or null when nothing is to be
     * erased (the p-draw failed, or ten tries found no fitting rectangle).
     */
    public int[] params(int h, int w, SplittableRandom rng) {
        if (cutout > 0) {
            // DeVries and Taylor's Cutout: y = randint(h), x = randint(w), then clip(y -+ length // 2).
            int cy = rng.nextInt(h);
            int cx = rng.nextInt(w);
            int y0 = Math.max(0, cy - cutout / 2);
            int y1 = Math.min(h, cy + cutout / 2);
            int x0 = Math.max(0, cx - cutout / 2);
            int x1 = Math.min(w, cx + cutout / 2);
            return new int[] {y0, x0, y1 - y0, x1 - x0};
        }
        if (!(rng.nextDouble() < p)) return null;
        double area = (double) h * w;
        double logMin = Math.log(ratioMin);
        double logMax = Math.log(ratioMax);
        for (int attempt = 0; attempt < 10; attempt++) {
            double erase = area * (scaleMin + (scaleMax - scaleMin) * rng.nextDouble());
            double aspect = Math.exp(logMin + (logMax - logMin) * rng.nextDouble());
            int eh = (int) Math.rint(Math.sqrt(erase * aspect));
            int ew = (int) Math.rint(Math.sqrt(erase / aspect));
            if (!(eh < h && ew < w)) continue;
            int top = rng.nextInt(h - eh + 1);
            int left = rng.nextInt(w - ew + 1);
            return new int[] {top, left, eh, ew};
        }
        return null;
    }

    @Override
    public Tensor apply(Tensor chw, SplittableRandom rng) {
        Images.requireChw(chw, "RandomErasing");
        int c = chw.dim(0);
        int h = chw.dim(1);
        int w = chw.dim(2);
        if (!randomValue && value.length != 1 && value.length != c) {
            throw new IllegalArgumentException("RandomErasing has " + value.length + " fill values for an image " + chw.shapeString());
        }
        int[] r = params(h, w, rng);
        if (r == null || r[2] == 0 || r[3] == 0) return chw;
        float[] dst = chw.data().clone();
        for (int k = 0; k < c; k++) {
            float fill = randomValue ? 0f : value[value.length == 1 ? 0 : k];
            for (int y = r[0]; y < r[0] + r[2]; y++) {
                int o = (k * h + y) * w;
                for (int x = r[1]; x < r[1] + r[3]; x++) {
                    dst[o + x] = randomValue ? (float) rng.nextGaussian() : fill;
                }
            }
        }
        return Tensor.of(dst, chw.shape());
    }

    @Override
    public String toString() {
        if (cutout > 0) return "Cutout(length=" + cutout + ")";
        return "RandomErasing(p=" + p + ", scale=(" + scaleMin + ", " + scaleMax + "), ratio=(" + ratioMin + ", "
                + ratioMax + "), value=" + (randomValue ? "random" : Arrays.toString(value)) + ")";
    }
}
