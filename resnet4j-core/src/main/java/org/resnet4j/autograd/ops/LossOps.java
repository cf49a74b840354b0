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

    /**
     * Per-pixel softmax cross-entropy over NCHW logits against an [N, H, W] mask of class
     * indices, as torch.nn.functional.cross_entropy(logits, target, ignore_index=ignoreIndex):
     * pixels labelled {@code ignoreIndex} (255, the "void" border of PASCAL VOC masks) add
     * nothing, and the mean is over the pixels that count, so with every pixel ignored the loss
     * is 0/0 = NaN, as PyTorch's. The result is multiplied by {@code weight}, e.g. the 0.5 of the
     * auxiliary loss in torchvision's references/segmentation/train.py. Gradient:
     * weight * (softmax - onehot) / counted at counted pixels, 0 at ignored ones.
     *
     * @param target class indices stored as floats (whole numbers), shape [N, H, W]
     */
    public static Variable crossEntropyDense(Variable logits, Tensor target, int ignoreIndex, float weight) {
        int[] s = logits.shape();
        if (s.length != 4) throw new IllegalArgumentException("dense cross_entropy expects [N, C, H, W] logits, got " + logits.value().shapeString());
        int n = s[0], c = s[1], hw = s[2] * s[3];
        if (!target.hasShape(n, s[2], s[3])) {
            throw new IllegalArgumentException("dense cross_entropy: target mask has shape " + target.shapeString() + ", logits "
                    + logits.value().shapeString() + " need [" + n + ", " + s[2] + ", " + s[3] + "]");
        }
        float[] t = target.data();
        int[] cls = new int[t.length];
        int counted = 0;
        for (int i = 0; i < t.length; i++) {
            float v = t[i];
            if (v == ignoreIndex) {
                cls[i] = -1;
                continue;
            }
            if (v != Math.rint(v) || v < 0 || v >= c) {
                throw new IllegalArgumentException("dense cross_entropy: target value " + v + " at [" + i / hw + ", " + (i % hw) / s[3]
                        + ", " + i % s[3] + "] is neither a class in [0, " + c + ") nor the ignore index " + ignoreIndex);
            }
            cls[i] = (int) v;
            counted++;
        }
        long t0 = OpProfile.now();
        float[] x = logits.value().data();
        float[] prob = new float[x.length];
        double total = 0;
        for (int b = 0; b < n; b++) {
            int base = b * c * hw;
            for (int p = 0; p < hw; p++) {
                int at = base + p;
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < c; j++) max = Math.max(max, x[at + j * hw]);
                double z = 0;
                for (int j = 0; j < c; j++) z += Math.exp(x[at + j * hw] - max);
                double logZ = max + Math.log(z);
                for (int j = 0; j < c; j++) prob[at + j * hw] = (float) Math.exp(x[at + j * hw] - logZ);
                int k = cls[b * hw + p];
                if (k >= 0) total -= x[at + k * hw] - logZ;
            }
        }
        final int count = counted;
        Tensor loss = Tensor.scalar((float) (weight * total / count));
        OpProfile.add("LossOps dense fwd", 0, t0);
        return Node.record(loss, () -> new Node(logits) {
            @Override
            protected void backward(Tensor dy) {
                Tensor dx = Tensor.zeros(s);
                float[] d = dx.data();
                if (count > 0) {
                    float scale = dy.data()[0] * weight / count;
                    for (int b = 0; b < n; b++) {
                        for (int p = 0; p < hw; p++) {
                            int k = cls[b * hw + p], at = b * c * hw + p;
                            if (k < 0) continue;
                            for (int j = 0; j < c; j++) d[at + j * hw] = prob[at + j * hw] * scale;
                            d[at + k * hw] -= scale;
                        }
                    }
                }
                inputs()[0].addGradOwned(dx);
            }
        }, logits);
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
