package org.resnet4j.data.dense;

import java.util.Arrays;

/**
 * What a detection or segmentation image is annotated with, as torchvision's references carry it
 * in their {@code target} dict: boxes {@code [M, 4]} in XYXY pixel coordinates (flat here, 4 per
 * object), one label per box, a crowd flag per box (COCO's {@code iscrowd}: ignored in matching and
 * in the loss), and optionally a semantic mask (row-major {@code height x width} class indices,
 * {@link #IGNORE} for pixels not to be scored, VOC's 255). Either part may be empty: a detection
 * set has no mask, a segmentation set no boxes, and an image without objects no boxes.
 */
public record DenseTarget(float[] boxes, int[] labels, boolean[] crowd, int[] semantic, int height, int width) {
    /** The semantic mask's "not scored" value (VOC's boundary pixels; torchvision's ignore_index). */
    public static final int IGNORE = 255;

    public DenseTarget {
        if (height < 1 || width < 1) throw new IllegalArgumentException("target size must be positive, got " + height + "x" + width);
        if (boxes.length % 4 != 0) throw new IllegalArgumentException("boxes must hold 4 numbers per object, got " + boxes.length);
        int m = boxes.length / 4;
        if (labels.length != m) throw new IllegalArgumentException(m + " boxes but " + labels.length + " labels");
        if (crowd.length != m) throw new IllegalArgumentException(m + " boxes but " + crowd.length + " crowd flags");
        for (int i = 0; i < m; i++) {
            float x0 = boxes[4 * i], y0 = boxes[4 * i + 1], x1 = boxes[4 * i + 2], y1 = boxes[4 * i + 3];
            if (!(x1 >= x0 && y1 >= y0) || !Float.isFinite(x0 + y0 + x1 + y1)) {
                throw new IllegalArgumentException("box " + i + " is not x0 <= x1, y0 <= y1: " + Arrays.toString(Arrays.copyOfRange(boxes, 4 * i, 4 * i + 4)));
            }
            if (labels[i] < 0) throw new IllegalArgumentException("box " + i + " has label " + labels[i]);
        }
        if (semantic != null && semantic.length != height * width) {
            throw new IllegalArgumentException("the semantic mask has " + semantic.length + " pixels, the target is " + height + "x" + width);
        }
    }

    /** Boxes and labels only (no crowd regions, no mask). */
    public static DenseTarget boxes(float[] boxes, int[] labels, int height, int width) {
        return new DenseTarget(boxes, labels, new boolean[labels.length], null, height, width);
    }

    /** A semantic mask only. */
    public static DenseTarget mask(int[] semantic, int height, int width) {
        return new DenseTarget(new float[0], new int[0], new boolean[0], semantic, height, width);
    }

    /** Objects annotated. */
    public int count() {
        return labels.length;
    }

    /** Box {@code i} as {x0, y0, x1, y1}. */
    public float[] box(int i) {
        return Arrays.copyOfRange(boxes, 4 * i, 4 * i + 4);
    }

    /** The largest class index in the mask other than {@link #IGNORE}, or -1 without a mask. */
    public int maxMaskClass() {
        int max = -1;
        if (semantic != null) for (int v : semantic) if (v != IGNORE) max = Math.max(max, v);
        return max;
    }
}
