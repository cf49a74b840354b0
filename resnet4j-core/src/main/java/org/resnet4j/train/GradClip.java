package org.resnet4j.train;

import java.util.Collection;
import org.resnet4j.autograd.Variable;
import org.resnet4j.tensor.Tensor;

/** Gradient clipping, after torch.nn.utils. Parameters without a gradient are ignored. */
public final class GradClip {
    /** PyTorch's guard against division by a zero norm in clip_grad_norm_. */
    static final double EPS = 1e-6;

    private GradClip() {}

    /**
     * torch.nn.utils.clip_grad_norm_ with the L2 norm
     * (https://pytorch.org/docs/1.13/generated/torch.nn.utils.clip_grad_norm_.html): the total
     * norm of all gradients together, as if concatenated, is computed (accumulated in double);
     * when {@code coef = maxNorm / (norm + 1e-6)} is below 1 every gradient is multiplied by it.
     *
     * <p>A non-finite norm (an overflowing or NaN gradient) is returned and the gradients are left
     * alone, so the caller can skip the step; PyTorch by default multiplies them by the NaN or 0
     * coefficient, which poisons every gradient.
     *
     * @return the total norm before clipping
     */
    public static double byNorm(Collection<? extends Variable> params, double maxNorm) {
        if (!(maxNorm >= 0)) throw new IllegalArgumentException("max norm must be >= 0, got " + maxNorm);
        double sumSq = 0;
        for (Variable p : params) {
            Tensor g = p.grad();
            if (g == null) continue;
            for (float v : g.data()) sumSq += (double) v * v;
        }
        double norm = Math.sqrt(sumSq);
        if (!Double.isFinite(norm)) return norm;
        double coef = maxNorm / (norm + EPS);
        if (coef < 1) {
            for (Variable p : params) {
                Tensor g = p.grad();
                if (g == null) continue;
                float[] d = g.data();
                for (int i = 0; i < d.length; i++) d[i] = (float) (d[i] * coef);
            }
        }
        return norm;
    }

    /**
     * torch.nn.utils.clip_grad_value_
     * (https://pytorch.org/docs/1.13/generated/torch.nn.utils.clip_grad_value_.html): clamps
     * every gradient element into [-clip, clip]; NaN stays NaN, as with torch.clamp.
     */
    public static void byValue(Collection<? extends Variable> params, double clip) {
        if (!(clip >= 0)) throw new IllegalArgumentException("clip value must be >= 0, got " + clip);
        float c = (float) clip;
        for (Variable p : params) {
            Tensor g = p.grad();
            if (g == null) continue;
            float[] d = g.data();
            for (int i = 0; i < d.length; i++) {
                float v = d[i];
                if (v > c) d[i] = c;
                else if (v < -c) d[i] = -c;
            }
        }
    }
}
