package org.resnet4j.detection;

import java.util.Arrays;
import org.resnet4j.tensor.Tensor;

/**
 * One image's ground truth, as torchvision's target dict: {@code boxes} [M, 4] (x1, y1, x2, y2) in
 * the image's pixels and one class label per box ({@code labels}, {@code 0 <= label < numClasses}).
 * M may be 0 (an image with no objects: every anchor is background).
 */
public record DetectionTarget(Tensor boxes, int[] labels) {
    public DetectionTarget {
        if (boxes == null || labels == null) throw new IllegalArgumentException("a detection target needs boxes and labels");
        if (boxes.rank() != 2 || boxes.dim(1) != 4) {
            throw new IllegalArgumentException("Expected target boxes to be a tensor of shape [N, 4], got " + boxes.shapeString());
        }
        if (labels.length != boxes.dim(0)) {
            throw new IllegalArgumentException("target has " + boxes.dim(0) + " boxes but " + labels.length + " labels");
        }
        labels = labels.clone();
    }

    /** No objects. */
    public static DetectionTarget empty() {
        return new DetectionTarget(Tensor.zeros(0, 4), new int[0]);
    }

    public int size() {
        return labels.length;
    }

    /**
     * Checks the target for a model of {@code numClasses} classes: labels in range, coordinates
     * finite and every box with x2 > x1 and y2 > y1 (torchvision: "All bounding boxes should have
     * positive height and width"). The error names the image, the box and its values.
     */
    public void check(int image, int numClasses) {
        float[] b = boxes.data();
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= numClasses) {
                throw new IllegalArgumentException("target " + image + ": label " + labels[i] + " of box " + i + " is out of range [0, "
                        + numClasses + ")");
            }
            float[] box = Arrays.copyOfRange(b, 4 * i, 4 * i + 4);
            for (float v : box) {
                if (!Float.isFinite(v)) throw new IllegalArgumentException("target " + image + ": box " + i + " " + Arrays.toString(box) + " is not finite");
            }
            if (!(box[2] > box[0]) || !(box[3] > box[1])) {
                throw new IllegalArgumentException("All bounding boxes should have positive height and width. Found invalid box "
                        + Arrays.toString(box) + " for target at index " + image + " (box " + i + ")");
            }
        }
    }
}
