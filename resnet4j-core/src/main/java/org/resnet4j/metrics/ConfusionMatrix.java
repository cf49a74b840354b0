package org.resnet4j.metrics;

import java.util.Arrays;

/**
 * Semantic segmentation scores as torchvision's {@code references/segmentation/utils.py}
 * {@code ConfusionMatrix} defines them: {@code mat[target][prediction]} counts pixels whose
 * target is not the ignore index (255, as in the reference's VOC and COCO training); pixel
 * accuracy is the diagonal over the total, a class's accuracy its diagonal over its row (the
 * pixels of that class), its IoU the diagonal over row + column - diagonal, and the mean IoU the
 * plain mean of the IoUs.
 *
 * <p>0/0 is NaN, as in the reference: a class neither present nor predicted has NaN IoU, and
 * then the mean IoU is NaN too (torch's {@code mean}). {@link #meanIouOfDefined} skips those
 * classes (numpy's {@code nanmean}), which is what a report over a subset of images wants. A
 * class present and never predicted has IoU 0; one predicted and never present has IoU 0 and NaN
 * accuracy. Counts are {@code long}, and the ratios are computed in double (the reference
 * converts the counts to float32 first, which agrees to about 1e-7 relative).
 *
 * <p>Unlike the reference, which silently drops targets outside {@code [0, classes)}, a target
 * or prediction out of range (other than an ignored target) is an error naming it: it means the
 * label map and the model disagree on the classes.
 */
public final class ConfusionMatrix {
    /** The ignore index torchvision's segmentation references use. */
    public static final int DEFAULT_IGNORE_INDEX = 255;

    private final int classes;
    private final int ignoreIndex;
    private final long[] mat;

    /** A matrix over {@code classes} classes with ignore index 255. */
    public ConfusionMatrix(int classes) {
        this(classes, DEFAULT_IGNORE_INDEX);
    }

    /** A matrix over {@code classes} classes; targets equal to {@code ignoreIndex} are not counted. */
    public ConfusionMatrix(int classes, int ignoreIndex) {
        if (classes < 1) throw new IllegalArgumentException("classes must be at least 1, got " + classes);
        if (ignoreIndex >= 0 && ignoreIndex < classes)
            throw new IllegalArgumentException("ignore index " + ignoreIndex + " is one of the " + classes + " classes");
        this.classes = classes;
        this.ignoreIndex = ignoreIndex;
        this.mat = new long[classes * classes];
    }

    /** The number of classes. */
    public int classes() {
        return classes;
    }

    /**
     * Counts one batch of pixels: {@code target[i]} against {@code prediction[i]} (flattened
     * masks of one shape, e.g. N*H*W). Everything is checked before anything is counted.
     */
    public void update(int[] target, int[] prediction) {
        if (target.length != prediction.length)
            throw new IllegalArgumentException("target has " + target.length + " pixels, prediction " + prediction.length);
        for (int i = 0; i < target.length; i++) {
            int t = target[i], p = prediction[i];
            if (t == ignoreIndex) continue;
            if (t < 0 || t >= classes)
                throw new IllegalArgumentException("target value " + t + " at pixel " + i + " is outside [0, " + classes + ") and is not the ignore index " + ignoreIndex);
            if (p < 0 || p >= classes)
                throw new IllegalArgumentException("prediction value " + p + " at pixel " + i + " is outside [0, " + classes + ")");
        }
        for (int i = 0; i < target.length; i++) if (target[i] != ignoreIndex) mat[target[i] * classes + prediction[i]]++;
    }

    /** Adds another matrix's counts (the reference's {@code reduce_from_all_processes}). */
    public void merge(ConfusionMatrix other) {
        if (other.classes != classes) throw new IllegalArgumentException("cannot merge " + other.classes + " classes into " + classes);
        for (int i = 0; i < mat.length; i++) mat[i] += other.mat[i];
    }

    /** Sets every count back to 0. */
    public void reset() {
        Arrays.fill(mat, 0);
    }

    /** Pixels of class {@code target} predicted as {@code prediction}. */
    public long count(int target, int prediction) {
        return mat[check(target) * classes + check(prediction)];
    }

    /** The counts, {@code [target][prediction]}. */
    public long[][] matrix() {
        long[][] m = new long[classes][];
        for (int t = 0; t < classes; t++) m[t] = Arrays.copyOfRange(mat, t * classes, (t + 1) * classes);
        return m;
    }

    /** Pixels counted (not ignored). */
    public long total() {
        long s = 0;
        for (long v : mat) s += v;
        return s;
    }

    /** Correct pixels over all pixels counted ("global correct"); NaN when none was counted. */
    public double pixelAccuracy() {
        long d = 0;
        for (int c = 0; c < classes; c++) d += mat[c * classes + c];
        return (double) d / total();
    }

    /** Per class: correct pixels over that class's pixels ("average row correct"); NaN for a class never present. */
    public double[] classAccuracy() {
        double[] a = new double[classes];
        for (int c = 0; c < classes; c++) a[c] = (double) mat[c * classes + c] / row(c);
        return a;
    }

    /** Per class: intersection over union, {@code diag / (row + column - diag)}; NaN for a class neither present nor predicted. */
    public double[] iou() {
        double[] u = new double[classes];
        for (int c = 0; c < classes; c++) {
            long d = mat[c * classes + c];
            u[c] = (double) d / (row(c) + column(c) - d);
        }
        return u;
    }

    /** The reference's mean IoU: the mean over every class, NaN if any class's IoU is NaN. */
    public double meanIou() {
        double s = 0;
        for (double v : iou()) s += v;
        return s / classes;
    }

    /** The mean IoU over the classes whose IoU is defined (present or predicted); NaN if none is. */
    public double meanIouOfDefined() {
        double s = 0;
        int n = 0;
        for (double v : iou()) {
            if (!Double.isNaN(v)) {
                s += v;
                n++;
            }
        }
        return n == 0 ? Double.NaN : s / n;
    }

    /**
     * The reference's printed form, in percent with one decimal, NaN as {@code nan}:
     * "global correct: 91.2", "average row correct: ['95.0', ...]", "IoU: [...]", "mean IoU: 71.4".
     */
    public String summary() {
        return "global correct: " + PyFormat.fixed(pixelAccuracy() * 100, 1)
                + "\naverage row correct: " + pythonList(classAccuracy())
                + "\nIoU: " + pythonList(iou())
                + "\nmean IoU: " + PyFormat.fixed(meanIou() * 100, 1);
    }

    @Override
    public String toString() {
        return summary();
    }

    /** A Python list of formatted strings, as {@code str([f"{i:.1f}" for i in ...])} prints it. */
    private static String pythonList(double[] fractions) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < fractions.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append('\'').append(PyFormat.fixed(fractions[i] * 100, 1)).append('\'');
        }
        return sb.append(']').toString();
    }

    private long row(int c) {
        long s = 0;
        for (int p = 0; p < classes; p++) s += mat[c * classes + p];
        return s;
    }

    private long column(int c) {
        long s = 0;
        for (int t = 0; t < classes; t++) s += mat[t * classes + c];
        return s;
    }

    private int check(int c) {
        if (c < 0 || c >= classes) throw new IndexOutOfBoundsException("class " + c + " is outside [0, " + classes + ")");
        return c;
    }
}
