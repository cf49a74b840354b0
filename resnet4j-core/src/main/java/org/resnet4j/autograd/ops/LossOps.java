package org.resnet4j.autograd.ops;

import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.OpProfile;
import org.resnet4j.autograd.Variable;
import org.resnet4j.tensor.Tensor;

/** Losses, mean-reduced as PyTorch's defaults. Each returns a 0-d value. */
public final class LossOps {
    private LossOps() {}

    /**
     * Softmax cross-entropy with label smoothing (torch.nn.CrossEntropyLoss(label_smoothing=eps)):
     * the target distribution is q = (1 - eps) * onehot + eps / C, loss_n = -sum_c q_c log p_c.
     * Gradient: (softmax - q) / N. Log-softmax uses the max shift for stability.
     */
    public static Variable crossEntropy(Variable logits, int[] targets, float labelSmoothing) {
        return crossEntropyMixed(logits, targets, null, 1f, labelSmoothing);
    }

    /**
     * Cross-entropy against a mix of two labellings, lambda * CE(targets) + (1 - lambda) * CE(targetsB),
     * as MixUp and CutMix train (Zhang et al. 2018; Yun et al. 2019). Since CE is linear in the
     * target distribution this is CE against q = lambda * q_a + (1 - lambda) * q_b.
     * {@code targetsB} null means unmixed.
     */
    public static Variable crossEntropyMixed(Variable logits, int[] targets, int[] targetsB, float lambda, float labelSmoothing) {
        int[] s = logits.shape();
        if (s.length != 2) throw new IllegalArgumentException("cross_entropy expects [N, C] logits, got " + logits.value().shapeString());
        int n = s[0], c = s[1];
        checkTargets(targets, n, c);
        if (targetsB != null) checkTargets(targetsB, n, c);
        if (labelSmoothing < 0f || labelSmoothing > 1f) throw new IllegalArgumentException("label smoothing must be in [0, 1], got " + labelSmoothing);
        float wa = targetsB == null ? 1f : lambda, wb = 1f - wa;
        long t0 = OpProfile.now();
        float[] x = logits.value().data();
        float[] prob = new float[n * c];
        double total = 0;
        for (int i = 0; i < n; i++) {
            int off = i * c;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < c; j++) max = Math.max(max, x[off + j]);
            double z = 0;
            for (int j = 0; j < c; j++) z += Math.exp(x[off + j] - max);
            double logZ = max + Math.log(z);
            double sumLogP = 0;
            for (int j = 0; j < c; j++) {
                double logp = x[off + j] - logZ;
                prob[off + j] = (float) Math.exp(logp);
                sumLogP += logp;
            }
            double nll = -wa * (x[off + targets[i]] - logZ);
            if (targetsB != null) nll -= wb * (x[off + targetsB[i]] - logZ);
            total += (1 - labelSmoothing) * nll - labelSmoothing / c * sumLogP;
        }
        Tensor loss = Tensor.scalar((float) (total / n));
        OpProfile.add("LossOps fwd", 0, t0);
        return Node.record(loss, () -> new Node(logits) {
            @Override
            protected void backward(Tensor dy) {
                float scale = dy.data()[0] / n;
                Tensor dx = Tensor.zeros(n, c);
                float[] d = dx.data();
                float smooth = labelSmoothing / c, keep = 1 - labelSmoothing;
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < c; j++) d[i * c + j] = (prob[i * c + j] - smooth) * scale;
                    d[i * c + targets[i]] -= keep * wa * scale;
                    if (targetsB != null) d[i * c + targetsB[i]] -= keep * wb * scale;
                }
                inputs()[0].addGradOwned(dx);
            }
        }, logits);
    }

    private static void checkTargets(int[] targets, int n, int c) {
        if (targets.length != n) throw new IllegalArgumentException("cross_entropy: " + targets.length + " targets for " + n + " rows");
        for (int i = 0; i < n; i++) {
            if (targets[i] < 0 || targets[i] >= c) {
                throw new IllegalArgumentException("cross_entropy: target " + targets[i] + " at row " + i + " outside [0, " + c + ")");
            }
        }
    }

    /** Mean squared error, mean((x - y)^2); gradient flows to both sides. */
    public static Variable mse(Variable x, Variable y) {
        if (!x.value().sameShape(y.value())) {
            throw new IllegalArgumentException("mse: shapes differ: " + x.value().shapeString() + " vs " + y.value().shapeString());
        }
        float[] a = x.value().data(), b = y.value().data();
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            double d = a[i] - b[i];
            sum += d * d;
        }
        int n = a.length;
        return Node.record(Tensor.scalar((float) (sum / n)), () -> new Node(x, y) {
            @Override
            protected void backward(Tensor dy) {
                float k = 2f * dy.data()[0] / n;
                if (needs(0)) {
                    Tensor d = Tensor.zeros(x.shape());
                    for (int i = 0; i < n; i++) d.data()[i] = k * (a[i] - b[i]);
                    inputs()[0].addGradOwned(d);
                }
                if (needs(1)) {
                    Tensor d = Tensor.zeros(y.shape());
                    for (int i = 0; i < n; i++) d.data()[i] = -k * (a[i] - b[i]);
                    inputs()[1].addGradOwned(d);
                }
            }
        }, x, y);
    }
}
