package org.resnet4j.detection.ops;

import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.Variable;
import org.resnet4j.tensor.Tensor;

/**
 * torchvision.ops.sigmoid_focal_loss (Lin et al. 2017, "Focal Loss for Dense Object Detection",
 * eq. 5): per element, FL = alpha_t (1 - p_t)^gamma BCE(x, t), with p = sigmoid(x),
 * p_t = p t + (1 - p)(1 - t) and alpha_t = alpha t + (1 - alpha)(1 - t). The (1 - p_t)^gamma
 * factor scales down the loss of the many easy negatives of a dense detector, so the few hard
 * examples drive training; FCOS classifies with it (Tian et al. 2019). {@code alpha < 0} drops the alpha
 * weighting, as torchvision. The BCE is the stable form max(x, 0) - x t + log(1 + exp(-|x|)).
 *
 * <p>Inputs (logits) and targets of one shape; targets may be soft (in [0, 1]) and get a
 * gradient too when they require one. Computed in double per element; backward differentiates
 * the same expression ((1 - p_t)^gamma as torch.pow: no gradient through it when gamma is 0).
 */
public final class SigmoidFocalLoss {
    private SigmoidFocalLoss() {}

    /** torchvision's defaults. */
    public static final float DEFAULT_ALPHA = 0.25f, DEFAULT_GAMMA = 2f;

    public static Variable apply(Variable inputs, Variable targets, Reduction reduction) {
        return apply(inputs, targets, DEFAULT_ALPHA, DEFAULT_GAMMA, reduction);
    }

    public static Variable apply(Variable inputs, Variable targets, float alpha, float gamma, Reduction reduction) {
        if (!inputs.value().sameShape(targets.value())) {
            throw new IllegalArgumentException("sigmoid_focal_loss: targets " + targets.value().shapeString()
                    + " must have the shape of inputs " + inputs.value().shapeString());
        }
        if (!(gamma >= 0f)) throw new IllegalArgumentException("sigmoid_focal_loss: gamma must be >= 0, got " + gamma);
        if (alpha > 1f) throw new IllegalArgumentException("sigmoid_focal_loss: alpha must be in [0, 1] (or < 0 for none), got " + alpha);
        float[] x = inputs.value().data(), t = targets.value().data();
        int n = x.length;
        double[] loss = new double[n];
        for (int i = 0; i < n; i++) loss[i] = element(x[i], t[i], alpha, gamma, 0, null, null, i);
        Tensor out = LossReduction.reduce(loss, inputs.shape(), reduction, false);
        int[] shape = inputs.shape();
        return Node.record(out, () -> new Node(inputs, targets) {
            @Override
            protected void backward(Tensor dy) {
                double[] g = LossReduction.perElement(dy, n, reduction);
                float[] gx = new float[n], gt = needs(1) ? new float[n] : null;
                for (int i = 0; i < n; i++) element(x[i], t[i], alpha, gamma, g[i], gx, gt, i);
                if (needs(0)) inputs()[0].addGradOwned(Tensor.of(gx, shape));
                if (gt != null) inputs()[1].addGradOwned(Tensor.of(gt, shape));
            }
        }, inputs, targets);
    }

    /** The loss of one element; with {@code gx} non-null, also writes gl times its gradient (gt: the target's, when wanted). */
    private static double element(double x, double t, double alpha, double gamma, double gl, float[] gx, float[] gt, int i) {
        double p = 1 / (1 + Math.exp(-x));
        double ce = Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)));
        double m = 1 - (p * t + (1 - p) * (1 - t));
        double f = gamma == 0 ? 1 : Math.pow(m, gamma);
        double at = alpha >= 0 ? alpha * t + (1 - alpha) * (1 - t) : 1;
        if (gx == null) return at * ce * f;
        double df = gamma == 0 ? 0 : gamma * Math.pow(m, gamma - 1); // d(m^gamma)/dm
        // dce/dx = p - t, dm/dx = -(2t - 1) p (1 - p); dce/dt = -x, dm/dt = 1 - 2p, d(alpha_t)/dt = 2 alpha - 1
        gx[i] = (float) (gl * at * ((p - t) * f + ce * df * (-(2 * t - 1) * p * (1 - p))));
        if (gt != null) {
            double dat = alpha >= 0 ? 2 * alpha - 1 : 0;
            gt[i] = (float) (gl * (at * (-x * f + ce * df * (1 - 2 * p)) + dat * ce * f));
        }
        return 0;
    }
}
