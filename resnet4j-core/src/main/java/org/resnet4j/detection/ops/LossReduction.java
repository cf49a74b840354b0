package org.resnet4j.detection.ops;

import org.resnet4j.tensor.Tensor;

/** The reduction step shared by the detection losses: forward (sum in double) and its gradient per element. */
final class LossReduction {
    private LossReduction() {}

    /**
     * The per-element losses as a tensor of {@code shape} (NONE), or their mean or sum as a 0-d
     * value. The mean of no elements is 0 when {@code emptyMeanIsZero} (generalized_box_iou_loss
     * returns 0.0 * sum there), else NaN (torch.mean of an empty tensor).
     */
    static Tensor reduce(double[] loss, int[] shape, Reduction reduction, boolean emptyMeanIsZero) {
        if (reduction == Reduction.NONE) {
            Tensor t = Tensor.zeros(shape);
            for (int i = 0; i < loss.length; i++) t.data()[i] = (float) loss[i];
            return t;
        }
        double sum = 0;
        for (double v : loss) sum += v;
        if (reduction == Reduction.SUM) return Tensor.scalar((float) sum);
        return Tensor.scalar(loss.length == 0 ? (emptyMeanIsZero ? 0f : Float.NaN) : (float) (sum / loss.length));
    }

    /** d(reduced)/d(loss_i) times the output's gradient: dy itself (NONE), dy / n (MEAN) or dy (SUM) for every element. */
    static double[] perElement(Tensor dy, int n, Reduction reduction) {
        double[] g = new double[n];
        if (reduction == Reduction.NONE) {
            for (int i = 0; i < n; i++) g[i] = dy.data()[i];
        } else {
            java.util.Arrays.fill(g, reduction == Reduction.MEAN ? (double) dy.data()[0] / n : dy.data()[0]);
        }
        return g;
    }
}
