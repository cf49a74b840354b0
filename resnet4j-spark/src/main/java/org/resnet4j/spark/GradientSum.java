package org.resnet4j.spark;

import java.io.Serializable;

/**
 * What one step's replicas send back and {@code treeAggregate} adds up: the gradient of every
 * parameter (null where a parameter got none, e.g. a frozen one), the loss and correct
 * predictions summed over samples, the sample count, and the buffers (batch-norm running
 * statistics) of the lowest-numbered replica seen.
 *
 * <p>A replica sends its gradients in float32, the precision they are computed in; they are
 * added in float64 and rounded to float32 once, by {@link #gradient}. Why: treeAggregate folds
 * the partitions' results in the order their tasks finish (RDD.fold on the driver), and float
 * additions in another order round differently (1e-7 of a gradient), which training amplifies
 * step after step. A float64 sum of a few float32 values of similar size is exact, hence the
 * same in every order, and its one rounding is the correctly rounded sum: with two replicas the
 * very float32 addition a single process makes when it accumulates the second shard's gradient
 * onto the first. The partial sums that intermediate tree levels send (with many replicas) are
 * float64. {@link #merge} mutates and returns its receiver, which Spark allows for
 * aggregation functions (JavaRDD.treeAggregate: "allowed to modify and return their first
 * argument instead of creating a new U").
 */
final class GradientSum implements Serializable {
    private static final long serialVersionUID = 1L;
    /** One replica's gradients, indexed like the model's parameters in registration order (null where none); null once merged. */
    float[][] grads;
    /** The float64 sum of the replicas' gradients merged so far; null before the second replica is added. */
    double[][] sums;
    double lossSum;
    long correct, samples;
    /** The longest forward and backward pass among the replicas merged, in seconds (the step's compute time). */
    double computeSeconds;
    /** The buffers (state dict order) of replica {@link #buffersFrom}; null if none yet. */
    float[][] buffers;
    int buffersFrom = Integer.MAX_VALUE;

    /** The zero of the aggregation. */
    static GradientSum empty() {
        return new GradientSum();
    }

    GradientSum merge(GradientSum o) {
        if (o.samples == 0) return this;
        if (samples == 0) {
            grads = o.grads;
            sums = o.sums;
        } else {
            if (sums == null) sums = widen(grads);
            grads = null;
            int n = o.sums != null ? o.sums.length : o.grads.length;
            if (sums.length != n) throw new IllegalStateException("replicas sent " + sums.length + " and " + n + " gradients: the models differ");
            for (int i = 0; i < n; i++) {
                double[] a = sums[i];
                if (a == null || (o.sums != null ? o.sums[i] : o.grads[i]) == null) {
                    if (a != null || (o.sums != null ? o.sums[i] : o.grads[i]) != null) {
                        throw new IllegalStateException("parameter " + i + " has a gradient on some replicas only");
                    }
                    continue;
                }
                if (o.sums != null) for (int j = 0; j < a.length; j++) a[j] += o.sums[i][j];
                else for (int j = 0; j < a.length; j++) a[j] += o.grads[i][j];
            }
        }
        computeSeconds = Math.max(computeSeconds, o.computeSeconds);
        lossSum += o.lossSum;
        correct += o.correct;
        samples += o.samples;
        if (o.buffersFrom < buffersFrom) {
            buffers = o.buffers;
            buffersFrom = o.buffersFrom;
        }
        return this;
    }

    /** Parameter {@code i}'s summed gradient, rounded to float32 once; null where it has none. */
    float[] gradient(int i) {
        if (sums == null) return grads[i];
        double[] a = sums[i];
        if (a == null) return null;
        float[] g = new float[a.length];
        for (int j = 0; j < a.length; j++) g[j] = (float) a[j];
        return g;
    }

    private static double[][] widen(float[][] g) {
        double[][] d = new double[g.length][];
        for (int i = 0; i < g.length; i++) {
            if (g[i] == null) continue;
            d[i] = new double[g[i].length];
            for (int j = 0; j < g[i].length; j++) d[i][j] = g[i][j];
        }
        return d;
    }
}
