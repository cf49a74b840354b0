package org.resnet4j.detection;

import org.resnet4j.tensor.Tensor;

/**
 * One image's detections, as torchvision's result dict: {@code boxes} [K, 4] (x1, y1, x2, y2) in the
 * original image's pixels, {@code scores} [K] by decreasing score and the class index of each
 * ({@code labels}).
 */
public record Detections(Tensor boxes, Tensor scores, int[] labels) {
    public int size() {
        return labels.length;
    }
}
