package org.resnet4j.detection.ops;

import java.util.Arrays;
import java.util.TreeMap;
import org.resnet4j.tensor.Tensor;

/**
 * torchvision.ops.boxes on [N, 4] float tensors of (x1, y1, x2, y2) corners: pairwise IoU,
 * non-maximum suppression (Neubeck and Van Gool 2006, as torchvision's CPU kernel), per-class
 * NMS, clipping to the image and dropping small boxes. Arithmetic is float32 in torchvision's
 * order of operations, so that IoUs at a threshold fall on the same side.
 *
 * <p>Ties: NMS visits boxes by decreasing score with a stable sort (torchvision's nms kernel
 * sorts with {@code stable=true}), so among equal scores the lower index comes first and is the
 * one kept; NaN scores sort before all others, as torch.sort's descending order. The returned
 * indices are in that visiting order.
 */
public final class Boxes {
    private Boxes() {}

    /** torchvision switches batched_nms from one NMS over offset boxes to one NMS per class above this many numbers (CPU). */
    static final int BATCHED_NMS_PER_CLASS_ABOVE = 4000;

    /**
     * box_iou: the [N, M] matrix of intersection over union. Zero-area boxes give 0 against a box
     * of positive area and NaN (0/0) against another zero-area box, as torchvision does.
     */
    public static Tensor boxIou(Tensor boxes1, Tensor boxes2) {
        int n = count("box_iou", "boxes1", boxes1), m = count("box_iou", "boxes2", boxes2);
        float[] a = boxes1.data(), b = boxes2.data();
        float[] areaA = areas(a, n), areaB = areas(b, m);
        Tensor out = Tensor.zeros(n, m);
        float[] o = out.data();
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < m; j++) {
                float inter = intersection(a, i, b, j);
                o[i * m + j] = inter / (areaA[i] + areaB[j] - inter);
            }
        }
        return out;
    }

    /**
     * nms: the indices of the boxes kept, by decreasing score; a box is dropped when its IoU with
     * a kept box of higher (or equal and earlier) score is above {@code iouThreshold}.
     */
    public static int[] nms(Tensor boxes, Tensor scores, double iouThreshold) {
        int n = count("nms", "boxes", boxes);
        checkScores("nms", scores, n);
        return nms(boxes.data(), scores.data(), n, iouThreshold);
    }

    private static int[] nms(float[] b, float[] s, int n, double iouThreshold) {
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, (i, j) -> descending(s[i], s[j])); // a stable merge sort: ties keep index order
        float[] area = areas(b, n);
        boolean[] suppressed = new boolean[n];
        int[] keep = new int[n];
        int kept = 0;
        for (int oi = 0; oi < n; oi++) {
            int i = order[oi];
            if (suppressed[i]) continue;
            keep[kept++] = i;
            for (int oj = oi + 1; oj < n; oj++) {
                int j = order[oj];
                if (suppressed[j]) continue;
                float inter = intersection(b, i, b, j);
                float iou = inter / (area[i] + area[j] - inter); // NaN for two zero-area boxes: never above
                if (iou > iouThreshold) suppressed[j] = true;
            }
        }
        return Arrays.copyOf(keep, kept);
    }

    /**
     * batched_nms: NMS within each category ({@code idxs[i]} is box i's), never across; indices by
     * decreasing score. As torchvision on CPU: up to 4000 numbers (1000 boxes), one NMS over the
     * boxes shifted by idx * (max coordinate + 1) in float32, so that categories cannot overlap;
     * above that, one NMS per category and the union sorted by score. Among equal scores the
     * lower index comes first in both (torchvision's final sort in the second path is not stable,
     * so its order of equal scores there is unspecified).
     */
    public static int[] batchedNms(Tensor boxes, Tensor scores, int[] idxs, double iouThreshold) {
        int n = count("batched_nms", "boxes", boxes);
        checkScores("batched_nms", scores, n);
        if (idxs.length != n) throw new IllegalArgumentException("batched_nms: " + idxs.length + " category indices for " + n + " boxes");
        if (n == 0) return new int[0];
        float[] b = boxes.data(), s = scores.data();
        if (boxes.size() > BATCHED_NMS_PER_CLASS_ABOVE) return perCategoryNms(b, s, idxs, n, iouThreshold);
        float max = Float.NEGATIVE_INFINITY;
        for (float v : b) max = Math.max(max, v);
        float[] shifted = new float[b.length];
        for (int i = 0; i < n; i++) {
            float offset = (float) idxs[i] * (max + 1f);
            for (int k = 0; k < 4; k++) shifted[4 * i + k] = b[4 * i + k] + offset;
        }
        return nms(shifted, s, n, iouThreshold);
    }

    private static int[] perCategoryNms(float[] b, float[] s, int[] idxs, int n, double iouThreshold) {
        TreeMap<Integer, java.util.List<Integer>> members = new TreeMap<>(); // categories ascending, as torch.unique
        for (int i = 0; i < n; i++) members.computeIfAbsent(idxs[i], k -> new java.util.ArrayList<>()).add(i);
        boolean[] keepMask = new boolean[n];
        for (java.util.List<Integer> list : members.values()) {
            int[] idx = list.stream().mapToInt(Integer::intValue).toArray();
            float[] cb = new float[4 * idx.length], cs = new float[idx.length];
            for (int k = 0; k < idx.length; k++) {
                System.arraycopy(b, 4 * idx[k], cb, 4 * k, 4);
                cs[k] = s[idx[k]];
            }
            for (int k : nms(cb, cs, idx.length, iouThreshold)) keepMask[idx[k]] = true;
        }
        Integer[] kept = java.util.stream.IntStream.range(0, n).filter(i -> keepMask[i]).boxed().toArray(Integer[]::new);
        Arrays.sort(kept, (i, j) -> descending(s[i], s[j]));
        return Arrays.stream(kept).mapToInt(Integer::intValue).toArray();
    }

    /**
     * remove_small_boxes: the indices, ascending, of the boxes whose width and height are both at
     * least {@code minSize} (compared in float32, as torch compares a float tensor with a Python float).
     */
    public static int[] removeSmallBoxes(Tensor boxes, float minSize) {
        int n = count("remove_small_boxes", "boxes", boxes);
        float[] b = boxes.data();
        return java.util.stream.IntStream.range(0, n)
                .filter(i -> b[4 * i + 2] - b[4 * i] >= minSize && b[4 * i + 3] - b[4 * i + 1] >= minSize).toArray();
    }

    /** clip_boxes_to_image: x clamped to [0, width], y to [0, height]; boxes [..., 4]; a new tensor. */
    public static Tensor clipBoxesToImage(Tensor boxes, int height, int width) {
        int[] s = boxes.shape();
        if (s.length < 1 || s[s.length - 1] != 4) {
            throw new IllegalArgumentException("clip_boxes_to_image: boxes must be [..., 4], got " + boxes.shapeString());
        }
        if (height < 0 || width < 0) throw new IllegalArgumentException("clip_boxes_to_image: size " + height + "x" + width);
        Tensor out = boxes.copy();
        float[] d = out.data();
        for (int i = 0; i < d.length; i++) d[i] = Math.min(Math.max(d[i], 0f), (i & 1) == 0 ? width : height);
        return out;
    }

    /** Orders scores as torch.sort(descending=True): larger first, NaN before everything, -0.0 equal to 0.0. */
    static int descending(float a, float b) {
        boolean na = Float.isNaN(a), nb = Float.isNaN(b);
        if (na || nb) return na == nb ? 0 : na ? -1 : 1;
        return a > b ? -1 : a < b ? 1 : 0;
    }

    private static float[] areas(float[] b, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (b[4 * i + 2] - b[4 * i]) * (b[4 * i + 3] - b[4 * i + 1]);
        return a;
    }

    /** Intersection area of box i of a and box j of b: the clamped overlap width times height. */
    private static float intersection(float[] a, int i, float[] b, int j) {
        float w = Math.max(Math.min(a[4 * i + 2], b[4 * j + 2]) - Math.max(a[4 * i], b[4 * j]), 0f);
        float h = Math.max(Math.min(a[4 * i + 3], b[4 * j + 3]) - Math.max(a[4 * i + 1], b[4 * j + 1]), 0f);
        return w * h;
    }

    /** N for a [N, 4] tensor, else an error naming the op, the argument and its shape. */
    static int count(String op, String what, Tensor boxes) {
        if (boxes.rank() != 2 || boxes.dim(1) != 4) {
            throw new IllegalArgumentException(op + ": " + what + " must be [N, 4] (x1, y1, x2, y2), got " + boxes.shapeString());
        }
        return boxes.dim(0);
    }

    private static void checkScores(String op, Tensor scores, int n) {
        if (scores.rank() != 1 || scores.dim(0) != n) {
            throw new IllegalArgumentException(op + ": scores must be [" + n + "], one per box, got " + scores.shapeString());
        }
    }
}
