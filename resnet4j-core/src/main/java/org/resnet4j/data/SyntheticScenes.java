package org.resnet4j.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import org.resnet4j.tensor.Tensor;

/**
 * Generated scenes for detection and segmentation that need no download: several of
 * {@link SyntheticShapes}' six shapes per image, from about 8 pixels across to half the image,
 * overlapping and occluding each other, on a textured, noisy background, each in its own colour
 * (its luminance at least 0.25 from everything it is drawn over, so every boundary can be seen).
 * Every scene comes with what COCO and VOC annotate: per object its class, box and instance mask,
 * and the semantic mask (VOC's convention: 0 background, class + 1 for the shapes).
 *
 * <p>Objects are drawn in order, later ones in front. An object's instance mask is the pixels it
 * covers at least half and that no later object covers at least half; its box is the tight box of
 * that mask in torchvision's XYXY pixel coordinates (pixel (x, y) covers [x, x+1) x [y, y+1)), the
 * visible extent an annotator would draw. A placement that would leave an earlier object less
 * than {@value #MIN_VISIBLE_PERCENT}% visible, or itself under {@value #MIN_PIXELS} pixels, is
 * drawn again (up to a bound, then the object is left out), so every annotated object can be
 * found and nothing visible goes unannotated.
 *
 * <p>Scene {@code i} is a pure function of {@code (seed, i)}: reproducible, and safe from any
 * number of threads.
 */
public final class SyntheticScenes {
    /** The object classes (those of {@link SyntheticShapes}); semantic masks add background as 0. */
    public static final List<String> CLASSES = SyntheticShapes.CLASSES;
    /** Least share of an object's own pixels that stays visible behind later objects. */
    public static final int MIN_VISIBLE_PERCENT = 50;
    /** Fewest visible pixels of an annotated object. */
    public static final int MIN_PIXELS = 16;
    private static final int PLACEMENT_TRIES = 12;
    private static final double MIN_CONTRAST = 0.25, MAX_NOISE = 0.04, TEXTURE = 0.06;

    /** One annotated object: its class (0-based into {@link #CLASSES}), box {x0, y0, x1, y1} and visible pixels. */
    public record Instance(int label, float[] box, boolean[] mask) {
        /** Visible pixels. */
        public int area() {
            int a = 0;
            for (boolean b : mask) if (b) a++;
            return a;
        }
    }

    /**
     * An image (float RGB CHW in [0, 1]), its objects back to front, and its semantic mask
     * (row-major H x W: 0 background, label + 1 where an object is visible).
     */
    public record Scene(Tensor image, List<Instance> instances, int[] semantic) {}

    private final int size, imageSize, maxObjects;
    private final long seed;

    /** {@code size} scenes of 128 x 128 with 1 to 6 objects each. */
    public SyntheticScenes(int size, long seed) {
        this(size, seed, 128, 6);
    }

    public SyntheticScenes(int size, long seed, int imageSize, int maxObjects) {
        if (size < 0) throw new IllegalArgumentException("size must be >= 0, got " + size);
        if (imageSize < 32) throw new IllegalArgumentException("imageSize must be >= 32, got " + imageSize);
        if (maxObjects < 1) throw new IllegalArgumentException("maxObjects must be >= 1, got " + maxObjects);
        this.size = size;
        this.seed = seed;
        this.imageSize = imageSize;
        this.maxObjects = maxObjects;
    }

    public int size() {
        return size;
    }

    public int imageSize() {
        return imageSize;
    }

    public long seed() {
        return seed;
    }

    /** Scene {@code index}: the same for the same seed and index, on any thread. */
    public Scene get(int index) {
        Objects.checkIndex(index, size);
        int n = imageSize, plane = n * n;
        SplittableRandom rng = new SplittableRandom(Seeds.hash(seed, 0x7363656e65L, index));
        float[] image = background(rng, n);
        int count = 1 + rng.nextInt(maxObjects);
        // owner[p]: the object in front at pixel p (-1: background); full[k]: object k's own pixel count
        int[] owner = new int[plane];
        java.util.Arrays.fill(owner, -1);
        List<float[]> coverages = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        List<Integer> fullArea = new ArrayList<>();
        for (int k = 0; k < count; k++) {
            int label = rng.nextInt(CLASSES.size());
            for (int attempt = 0; attempt < PLACEMENT_TRIES; attempt++) {
                // diameters from 8 px to half the image, log-uniform so small objects are common
                double r = 4 * Math.exp(rng.nextDouble() * Math.log(n / 8.0));
                double cx = r + 1 + rng.nextDouble() * (n - 2 * r - 2), cy = r + 1 + rng.nextDouble() * (n - 2 * r - 2);
                double angle = rng.nextDouble() * 2 * Math.PI;
                float[] cov = SyntheticShapes.coverage(label, cx, cy, r, Math.cos(angle), Math.sin(angle), n);
                if (placementKeepsEveryoneVisible(cov, owner, fullArea, labels.size())) {
                    int own = 0;
                    for (int p = 0; p < plane; p++) {
                        if (cov[p] >= 0.5f) {
                            owner[p] = labels.size();
                            own++;
                        }
                    }
                    coverages.add(cov);
                    labels.add(label);
                    fullArea.add(own);
                    break;
                }
            }
        }
        // paint back to front, each object blended by its anti-aliased coverage, in a colour that
        // stands out from whatever lies under it (background and earlier objects)
        for (int k = 0; k < labels.size(); k++) {
            float[] cov = coverages.get(k);
            float[] fg = colour(rng, lumaRange(image, cov, plane));
            for (int p = 0; p < plane; p++) {
                float a = cov[p];
                if (a == 0f) continue;
                for (int c = 0; c < 3; c++) image[c * plane + p] = image[c * plane + p] * (1f - a) + fg[c] * a;
            }
        }
        float noise = (float) (MAX_NOISE * rng.nextDouble());
        for (int i = 0; i < image.length; i++) image[i] = clamp01(image[i] + noise * (float) rng.nextGaussian());
        int[] semantic = new int[plane];
        List<Instance> instances = new ArrayList<>();
        for (int k = 0; k < labels.size(); k++) {
            boolean[] mask = new boolean[plane];
            int x0 = n, y0 = n, x1 = -1, y1 = -1;
            for (int p = 0; p < plane; p++) {
                if (owner[p] != k) continue;
                mask[p] = true;
                semantic[p] = labels.get(k) + 1;
                int x = p % n, y = p / n;
                x0 = Math.min(x0, x);
                y0 = Math.min(y0, y);
                x1 = Math.max(x1, x);
                y1 = Math.max(y1, y);
            }
            instances.add(new Instance(labels.get(k), new float[] {x0, y0, x1 + 1, y1 + 1}, mask));
        }
        return new Scene(Tensor.of(image, 3, n, n), List.copyOf(instances), semantic);
    }

    /**
     * Whether an object covering {@code cov} may go in front of the {@code placed} ones: it must
     * show at least {@link #MIN_PIXELS} pixels, and leave each earlier object at least
     * {@link #MIN_VISIBLE_PERCENT}% of its own pixels and {@link #MIN_PIXELS}.
     */
    private static boolean placementKeepsEveryoneVisible(float[] cov, int[] owner, List<Integer> fullArea, int placed) {
        int own = 0;
        int[] visibleAfter = new int[placed];
        for (int p = 0; p < cov.length; p++) {
            boolean covered = cov[p] >= 0.5f;
            if (covered) own++;
            else if (owner[p] >= 0) visibleAfter[owner[p]]++;
        }
        if (own < MIN_PIXELS) return false;
        for (int k = 0; k < placed; k++) {
            if (visibleAfter[k] < MIN_PIXELS || 100L * visibleAfter[k] < (long) MIN_VISIBLE_PERCENT * fullArea.get(k)) return false;
        }
        return true;
    }

    /** A gradient between two colours, with a low-amplitude sinusoidal texture per channel. */
    private static float[] background(SplittableRandom rng, int n) {
        int plane = n * n;
        float[] img = new float[3 * plane];
        double ga = rng.nextDouble() * 2 * Math.PI, gx = Math.cos(ga), gy = Math.sin(ga);
        float[] c0 = new float[3], c1 = new float[3];
        double[] fx = new double[3], fy = new double[3], phase = new double[3];
        for (int c = 0; c < 3; c++) {
            c0[c] = (float) rng.nextDouble();
            c1[c] = clamp01(c0[c] + (float) (0.5 * rng.nextDouble() - 0.25));
            fx[c] = (rng.nextDouble() - 0.5) * 0.8;
            fy[c] = (rng.nextDouble() - 0.5) * 0.8;
            phase[c] = rng.nextDouble() * 2 * Math.PI;
        }
        for (int y = 0; y < n; y++) {
            for (int x = 0; x < n; x++) {
                float t = clamp01((float) (0.5 + ((x + 0.5 - n / 2.0) * gx + (y + 0.5 - n / 2.0) * gy) / n));
                for (int c = 0; c < 3; c++) {
                    double texture = TEXTURE * Math.sin(fx[c] * x + fy[c] * y + phase[c]);
                    img[c * plane + y * n + x] = clamp01((float) (c0[c] + (c1[c] - c0[c]) * t + texture));
                }
            }
        }
        return img;
    }

    /** The least and greatest luminance of the image under the pixels an object touches. */
    private static double[] lumaRange(float[] img, float[] cov, int plane) {
        double lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE;
        for (int p = 0; p < plane; p++) {
            if (cov[p] == 0f) continue;
            double l = 0.299 * img[p] + 0.587 * img[plane + p] + 0.114 * img[2 * plane + p];
            lo = Math.min(lo, l);
            hi = Math.max(hi, l);
        }
        return new double[] {lo, hi};
    }

    /** An object colour whose luminance stands {@link #MIN_CONTRAST} clear of everything under it. */
    private static float[] colour(SplittableRandom rng, double[] bg) {
        for (int attempt = 0; attempt < 64; attempt++) {
            float[] c = {(float) rng.nextDouble(), (float) rng.nextDouble(), (float) rng.nextDouble()};
            double l = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
            if (l >= bg[1] + MIN_CONTRAST || l <= bg[0] - MIN_CONTRAST) return c;
        }
        float v = 1 - bg[1] >= bg[0] ? 1f : 0f; // the farther of white and black
        return new float[] {v, v, v};
    }

    private static float clamp01(float v) {
        return v < 0f ? 0f : v > 1f ? 1f : v;
    }

    @Override
    public String toString() {
        return "SyntheticScenes(" + size + " x 3x" + imageSize + "x" + imageSize + ", up to " + maxObjects + " objects, seed " + seed + ")";
    }
}
