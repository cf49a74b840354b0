package org.resnet4j.spark;

import java.io.Serializable;

/**
 * What one step's replicas send back and {@code treeAggregate} adds up: the gradient of every
 * parameter (null where a parameter got none, e.g. a frozen one), the loss and correct
 * predictions summed over samples, the sample count, and the buffers (batch-norm running
 * statistics) of the lowest-numbered replica seen.
 *
 * <p>Gradients are summed in float32, the precision they are computed in: with two replicas the
 * sum is the one rounding a single process makes when it accumulates the second shard's gradient
 * onto the first. {@link #merge} mutates and returns its receiver, which Spark allows for
 * aggregation functions (JavaRDD.treeAggregate: "allowed to modify and return their first
 * argument instead of creating a new U").
 */
final class GradientSum implements Serializable {
    private static final long serialVersionUID = 1L;
    /** Indexed like the model's parameters, in registration order; null before the first replica is added. */
    float[][] grads;
    double lossSum;
    long correct, samples;
    /** The buffers (state dict order) of replica {@link #buffersFrom}; null if none yet. */
    float[][] buffers;
    int buffersFrom = Integer.MAX_VALUE;

    /** The zero of the aggregation. */
    static GradientSum empty() {
        return new GradientSum();
    }

    GradientSum merge(GradientSum o) {
        if (o.samples == 0) return this;
        if (grads == null) {
            grads = o.grads;
        } else {
            if (grads.length != o.grads.length) {
                throw new IllegalStateException("replicas sent " + grads.length + " and " + o.grads.length + " gradients: the models differ");
            }
            for (int i = 0; i < grads.length; i++) {
                float[] a = grads[i], b = o.grads[i];
                if (a == null || b == null) {
                    if (a != b) throw new IllegalStateException("parameter " + i + " has a gradient on one replica only");
                    continue;
                }
                for (int j = 0; j < a.length; j++) a[j] += b[j];
            }
        }
        lossSum += o.lossSum;
        correct += o.correct;
        samples += o.samples;
        if (o.buffersFrom < buffersFrom) {
            buffers = o.buffers;
            buffersFrom = o.buffersFrom;
        }
        return this;
    }
}
