package org.resnet4j.data;

import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import org.resnet4j.tensor.Tensor;

/**
 * A generated classification dataset that needs no download: RGB images of one shape each
 * (circle, square, triangle, cross, ring, star) on a plain or gradient background, with random
 * colours, size, position and rotation and Gaussian pixel noise. It is big enough to train a
 * small ResNet to high accuracy in minutes and small enough to generate on the fly.
 *
 * <p>Example {@code i} is a pure function of {@code (seed, i)}: nothing is cached or shared, so
 * {@link #get} is reproducible and safe from any number of threads. Labels are balanced: indices
 * 6k .. 6k+5 hold each class once, in an order drawn from the seed (so the index does not give the
 * label away, and any prefix of the dataset is balanced to within one example per class).
 *
 * <p>Shapes are rendered without java.awt: per pixel, 4x4 sub-samples are tested against the
 * shape's analytic inside-test in its own rotated frame (anti-aliasing by supersampling). Pixels
 * whose centre is provably more than half a pixel diagonal inside or outside the shape skip the
 * sub-samples, which keeps 10,000 32x32 images to about half a second of one core. Every shape
 * fits in a circle of radius r around its centre, and that circle lies inside the image, so each
 * object is whole; {@link #annotation} gives its box and mask for detection/segmentation work.
 */
public final class SyntheticShapes implements Dataset {
    public static final List<String> CLASSES = List.of("circle", "square", "triangle", "cross", "ring", "star");
    public static final int CIRCLE = 0;
    public static final int SQUARE = 1;
    public static final int TRIANGLE = 2;
    public static final int CROSS = 3;
    public static final int RING = 4;
    public static final int STAR = 5;

    /**
     * Where the object is: its label, its box {x0, y0, x1, y1} in pixel coordinates (pixel (x, y)
     * covers [x, x+1) x [y, y+1), torchvision's XYXY box format), and a binary [H, W] mask of the
     * pixels at least half covered by the shape.
     */
    public record Annotation(int label, float[] box, Tensor mask) {}

    private static final int SUB = 4;
    /** Radius of the shape's bounding circle, as a fraction of the image side. */
    private static final double MIN_RADIUS = 0.25;
    private static final double MAX_RADIUS = 0.45;
    /** Shape proportions in the unit frame; each shape fits in the unit circle. */
    private static final double SQUARE_HALF = 0.70;
    private static final double CROSS_HALF_WIDTH = 0.28;
    private static final double CROSS_ARM = 0.95;
    private static final double RING_HOLE = 0.55;
    private static final double STAR_INNER = 0.45;
    /** Smallest luminance gap between the shape and any point of the background. */
    private static final double MIN_CONTRAST = 0.25;
    private static final double MAX_NOISE = 0.05;
    /** Half the diagonal of a pixel, with a little margin for rounding. */
    private static final double HALF_DIAGONAL = 0.7072;

    /** Vertices (unit frame, counter-clockwise) of the polygonal shapes, for their bounding boxes. */
    private static final double[][][] VERTICES = new double[CLASSES.size()][][];
    /**
     * Each polygonal shape as a union of convex polygons, each polygon as its edges, flattened
     * {nx, ny, offset, nx, ...} with unit outward normals: a point is inside a polygon when every
     * nx*u + ny*v - offset <= 0.
     */
    private static final double[][][] PARTS = new double[CLASSES.size()][][];

    static {
        double h = SQUARE_HALF;
        double w = CROSS_HALF_WIDTH;
        double l = CROSS_ARM;
        double s3 = Math.sqrt(3) / 2;
        double[][] star = new double[10][];
        for (int k = 0; k < 10; k++) {
            double a = Math.PI / 2 + k * Math.PI / 5;
            double rad = k % 2 == 0 ? 1.0 : STAR_INNER;
            star[k] = new double[] {rad * Math.cos(a), rad * Math.sin(a)};
        }
        VERTICES[SQUARE] = new double[][] {{-h, -h}, {h, -h}, {h, h}, {-h, h}};
        VERTICES[TRIANGLE] = new double[][] {{0, 1}, {-s3, -0.5}, {s3, -0.5}};
        VERTICES[CROSS] = new double[][] {{-w, -l}, {w, -l}, {w, l}, {-w, l}, {-l, -w}, {l, -w}, {l, w}, {-l, w}};
        VERTICES[STAR] = star;
        PARTS[SQUARE] = new double[][] {edges(VERTICES[SQUARE])};
        PARTS[TRIANGLE] = new double[][] {edges(VERTICES[TRIANGLE])};
        PARTS[CROSS] = new double[][] {
            edges(new double[][] {{-w, -l}, {w, -l}, {w, l}, {-w, l}}),
            edges(new double[][] {{-l, -w}, {l, -w}, {l, w}, {-l, w}})};
        // The star is the pentagon of its inner vertices plus one triangle (spike) on each of its edges.
        double[][] starParts = new double[6][];
        starParts[0] = edges(new double[][] {star[1], star[3], star[5], star[7], star[9]});
        for (int k = 0; k < 5; k++) {
            starParts[k + 1] = edges(new double[][] {star[(2 * k + 9) % 10], star[2 * k], star[2 * k + 1]});
        }
        PARTS[STAR] = starParts;
    }

    /** Edge functions of a convex polygon, oriented so that normals point outwards. */
    private static double[] edges(double[][] poly) {
        double area = 0;
        for (int i = 0; i < poly.length; i++) {
            double[] a = poly[i];
            double[] b = poly[(i + 1) % poly.length];
            area += a[0] * b[1] - b[0] * a[1];
        }
        double sign = area > 0 ? 1 : -1; // counter-clockwise: (dy, -dx) points outwards
        double[] e = new double[3 * poly.length];
        for (int i = 0; i < poly.length; i++) {
            double[] a = poly[i];
            double[] b = poly[(i + 1) % poly.length];
            double dx = b[0] - a[0];
            double dy = b[1] - a[1];
            double len = Math.hypot(dx, dy);
            double nx = sign * dy / len;
            double ny = -sign * dx / len;
            e[3 * i] = nx;
            e[3 * i + 1] = ny;
            e[3 * i + 2] = nx * a[0] + ny * a[1];
        }
        return e;
    }

    private final int size;
    private final long seed;
    private final int imageSize;

    /** {@code size} 32x32 images. */
    public SyntheticShapes(int size, long seed) {
        this(size, seed, 32);
    }

    public SyntheticShapes(int size, long seed, int imageSize) {
        if (size < 0) throw new IllegalArgumentException("size must be >= 0, got " + size);
        if (imageSize < 16) throw new IllegalArgumentException("imageSize must be >= 16, got " + imageSize);
        this.size = size;
        this.seed = seed;
        this.imageSize = imageSize;
    }

    /** One image's drawn parameters. */
    private record Scene(int label, double cx, double cy, double r, double cos, double sin, float[] bg0, float[] bg1,
            double gx, double gy, float[] fg, double noise, SplittableRandom rng) {}

    @Override
    public int size() {
        return size;
    }

    @Override
    public Example get(int index) {
        Scene s = scene(index);
        float[] cov = coverage(s);
        return new Example(paint(s, cov), s.label);
    }

    /** Label, bounding box and mask of example {@code index}; consistent with {@link #get}. */
    public Annotation annotation(int index) {
        Scene s = scene(index);
        float[] cov = coverage(s);
        float[] mask = new float[cov.length];
        for (int i = 0; i < cov.length; i++) mask[i] = cov[i] >= 0.5f ? 1f : 0f;
        return new Annotation(s.label, box(s), Tensor.of(mask, imageSize, imageSize));
    }

    @Override
    public int label(int index) {
        Objects.checkIndex(index, size);
        int k = CLASSES.size();
        int block = index / k;
        int[] perm = new int[k];
        for (int i = 0; i < k; i++) perm[i] = i;
        SplittableRandom r = new SplittableRandom(Seeds.hash(seed, 0x6c6162656cL, block));
        for (int i = k - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        return perm[index % k];
    }

    private Scene scene(int index) {
        int label = label(index);
        SplittableRandom rng = new SplittableRandom(Seeds.hash(seed, index));
        int n = imageSize;
        double r = n * (MIN_RADIUS + (MAX_RADIUS - MIN_RADIUS) * rng.nextDouble());
        // Centre such that the bounding circle keeps a one-pixel margin inside the image.
        double cx = r + 1 + rng.nextDouble() * (n - 2 * r - 2);
        double cy = r + 1 + rng.nextDouble() * (n - 2 * r - 2);
        double angle = rng.nextDouble() * 2 * Math.PI;
        float[] bg0 = {(float) rng.nextDouble(), (float) rng.nextDouble(), (float) rng.nextDouble()};
        float[] bg1 = bg0.clone();
        double gx = 0;
        double gy = 0;
        if (rng.nextBoolean()) {
            for (int k = 0; k < 3; k++) bg1[k] = clamp01(bg0[k] + (float) (0.6 * rng.nextDouble() - 0.3));
            double ga = rng.nextDouble() * 2 * Math.PI;
            gx = Math.cos(ga);
            gy = Math.sin(ga);
        }
        double y0 = luma(bg0);
        double y1 = luma(bg1);
        double lo = Math.min(y0, y1);
        double hi = Math.max(y0, y1);
        float[] fg = null;
        for (int attempt = 0; attempt < 32 && fg == null; attempt++) {
            float[] c = {(float) rng.nextDouble(), (float) rng.nextDouble(), (float) rng.nextDouble()};
            double yc = luma(c);
            if (yc >= hi + MIN_CONTRAST || yc <= lo - MIN_CONTRAST) fg = c;
        }
        if (fg == null) {
            // The background's luminance spans at most 0.3, so black or white is always >= 0.35 away.
            float v = 1 - hi >= lo ? 1f : 0f;
            fg = new float[] {v, v, v};
        }
        double noise = MAX_NOISE * rng.nextDouble();
        return new Scene(label, cx, cy, r, Math.cos(angle), Math.sin(angle), bg0, bg1, gx, gy, fg, noise, rng);
    }

    private static double luma(float[] c) {
        return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
    }

    private static float clamp01(float v) {
        return v < 0f ? 0f : v > 1f ? 1f : v;
    }

    /**
     * Fraction of each pixel's 4x4 sub-samples inside the shape. A pixel whose centre is more than
     * half a pixel diagonal from the boundary (by {@link #signedDistance}) is wholly in or out and
     * is not sub-sampled; that leaves only the boundary pixels to the 16 inside-tests.
     */
    private float[] coverage(Scene s) {
        return coverage(s.label, s.cx, s.cy, s.r, s.cos, s.sin, imageSize);
    }

    /**
     * The coverage of one shape of class {@code label} with bounding circle (cx, cy, r), rotated
     * by the angle whose cosine and sine are given, in an n x n image (shared with
     * {@link SyntheticScenes}).
     */
    static float[] coverage(int label, double cx, double cy, double r, double cos, double sin, int n) {
        float[] cov = new float[n * n];
        double margin = HALF_DIAGONAL / r; // half a pixel diagonal in unit-frame lengths
        int xa = Math.max(0, (int) Math.floor(cx - r - 1));
        int xb = Math.min(n - 1, (int) Math.floor(cx + r + 1));
        int ya = Math.max(0, (int) Math.floor(cy - r - 1));
        int yb = Math.min(n - 1, (int) Math.floor(cy + r + 1));
        // Into the shape's frame: rotate by -angle and scale the bounding circle to the unit circle.
        double c = cos / r;
        double sn = sin / r;
        double reach = (r + HALF_DIAGONAL) * (r + HALF_DIAGONAL);
        for (int y = ya; y <= yb; y++) {
            for (int x = xa; x <= xb; x++) {
                double dx = x + 0.5 - cx;
                double dy = y + 0.5 - cy;
                if (dx * dx + dy * dy >= reach) continue; // outside the bounding circle: cheap early out
                double d = signedDistance(label, c * dx + sn * dy, -sn * dx + c * dy);
                if (d >= margin) continue;
                if (d <= -margin) {
                    cov[y * n + x] = 1f;
                    continue;
                }
                int hits = 0;
                for (int sy = 0; sy < SUB; sy++) {
                    double py = y + (sy + 0.5) / SUB - cy;
                    for (int sx = 0; sx < SUB; sx++) {
                        double px = x + (sx + 0.5) / SUB - cx;
                        if (signedDistance(label, c * px + sn * py, -sn * px + c * py) <= 0) hits++;
                    }
                }
                cov[y * n + x] = hits / (float) (SUB * SUB);
            }
        }
        return cov;
    }

    /**
     * A signed distance bound in the unit frame: negative inside, positive outside, and never
     * larger in magnitude than the true distance to the boundary, so |value| > margin proves the
     * whole pixel is on one side. Exact for the circle and ring; for a convex polygon the largest
     * edge function (exact inside, a lower bound outside); for a union of convex parts the least
     * of the parts' bounds.
     */
    static double signedDistance(int label, double u, double v) {
        switch (label) {
            case CIRCLE:
                return Math.sqrt(u * u + v * v) - 1.0;
            case RING: {
                double rho = Math.sqrt(u * u + v * v);
                return Math.max(rho - 1.0, RING_HOLE - rho);
            }
            default: {
                double best = Double.MAX_VALUE;
                for (double[] part : PARTS[label]) {
                    double m = -Double.MAX_VALUE;
                    for (int i = 0; i < part.length; i += 3) {
                        double f = part[i] * u + part[i + 1] * v - part[i + 2];
                        if (f > m) m = f; // plain comparisons: no NaN or -0.0 here, and Math.max costs more
                    }
                    if (m < best) best = m;
                }
                return best;
            }
        }
    }

    /** The analytic inside-test of each shape in its unit frame (the boundary counts as inside). */
    static boolean inside(int label, double u, double v) {
        return signedDistance(label, u, v) <= 0;
    }

    /** Background, then the shape blended by its coverage, then noise, clamped to [0, 1]. */
    private Tensor paint(Scene s, float[] cov) {
        int n = imageSize;
        int plane = n * n;
        float[] img = new float[3 * plane];
        SplittableRandom rng = s.rng;
        float noise = (float) s.noise;
        for (int y = 0; y < n; y++) {
            for (int x = 0; x < n; x++) {
                int p = y * n + x;
                float t = (float) (0.5 + ((x + 0.5 - n / 2.0) * s.gx + (y + 0.5 - n / 2.0) * s.gy) / n);
                t = clamp01(t);
                float a = cov[p];
                for (int k = 0; k < 3; k++) {
                    float bg = s.bg0[k] + (s.bg1[k] - s.bg0[k]) * t;
                    float v = bg * (1f - a) + s.fg[k] * a + noise * (float) rng.nextGaussian();
                    img[k * plane + p] = clamp01(v);
                }
            }
        }
        return Tensor.of(img, 3, n, n);
    }

    private float[] box(Scene s) {
        return box(s.label, s.cx, s.cy, s.r, s.cos, s.sin, imageSize);
    }

    /** The shape's exact bounding box {x0, y0, x1, y1} from its vertices (circle and ring: the circle's), clipped to the image. */
    static float[] box(int label, double cx, double cy, double r, double cos, double sin, int n) {
        double x0;
        double y0;
        double x1;
        double y1;
        double[][] verts = VERTICES[label];
        if (verts == null) {
            x0 = cx - r;
            x1 = cx + r;
            y0 = cy - r;
            y1 = cy + r;
        } else {
            x0 = Double.MAX_VALUE;
            y0 = Double.MAX_VALUE;
            x1 = -Double.MAX_VALUE;
            y1 = -Double.MAX_VALUE;
            for (double[] p : verts) {
                // Back from the unit frame to pixels: rotate by +angle, scale by r, shift to the centre.
                double x = cx + r * (cos * p[0] - sin * p[1]);
                double y = cy + r * (sin * p[0] + cos * p[1]);
                x0 = Math.min(x0, x);
                y0 = Math.min(y0, y);
                x1 = Math.max(x1, x);
                y1 = Math.max(y1, y);
            }
        }
        return new float[] {(float) Math.max(0, x0), (float) Math.max(0, y0), (float) Math.min(n, x1), (float) Math.min(n, y1)};
    }

    @Override
    public List<String> classes() {
        return CLASSES;
    }

    @Override
    public int channels() {
        return 3;
    }

    @Override
    public int height() {
        return imageSize;
    }

    @Override
    public int width() {
        return imageSize;
    }

    public long seed() {
        return seed;
    }

    public int imageSize() {
        return imageSize;
    }

    @Override
    public String toString() {
        return "SyntheticShapes(" + size + " x 3x" + imageSize + "x" + imageSize + ", seed " + seed + ")";
    }
}
