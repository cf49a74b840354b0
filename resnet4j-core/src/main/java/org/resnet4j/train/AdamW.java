package org.resnet4j.train;

import java.util.List;
import java.util.Set;
import org.resnet4j.tensor.Tensor;

/**
 * Adam with decoupled weight decay (Loshchilov &amp; Hutter 2019), exactly torch.optim.AdamW
 * without amsgrad (https://pytorch.org/docs/1.13/generated/torch.optim.AdamW.html), per
 * parameter with gradient g at its t-th update (t counted per parameter, so a parameter that
 * got no gradient in some step lags behind, as in PyTorch):
 *
 * <pre>
 *   p = p * (1 - lr * weight_decay)                      (decoupled: not added to g)
 *   m = beta1 * m + (1 - beta1) * g
 *   v = beta2 * v + (1 - beta2) * g^2
 *   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)   (eps outside the sqrt)
 * </pre>
 *
 * Element arithmetic runs in double, rounded once into the float32 parameter and moments.
 *
 * <p>Group options: {@code beta1}, {@code beta2}, {@code eps}. State: {@code exp_avg/<name>},
 * {@code exp_avg_sq/<name>}, {@code step/<name>}.
 */
public final class AdamW extends AbstractOptimizer {
    public static final String EXP_AVG = "exp_avg", EXP_AVG_SQ = "exp_avg_sq";
    private static final Set<String> OPTIONS = Set.of("beta1", "beta2", "eps");
    private final double beta1, beta2, eps, weightDecay;

    /** PyTorch's defaults for the rest: betas (0.9, 0.999), eps 1e-8. */
    public AdamW(List<ParamGroup> groups, double lr, double weightDecay) {
        this(groups, lr, 0.9, 0.999, 1e-8, weightDecay);
    }

    public AdamW(List<ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weightDecay) {
        super(groups, lr, List.of(EXP_AVG, EXP_AVG_SQ), true);
        check(beta1, beta2, eps, null);
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) throw new IllegalArgumentException("invalid weight_decay value: " + weightDecay);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        checkGroups();
    }

    /** PyTorch's checks: 0 <= beta < 1, eps >= 0. */
    private static void check(double beta1, double beta2, double eps, ParamGroup g) {
        if (!(beta1 >= 0 && beta1 < 1)) throw bad(g, "invalid beta parameter at index 0: " + beta1);
        if (!(beta2 >= 0 && beta2 < 1)) throw bad(g, "invalid beta parameter at index 1: " + beta2);
        if (!(eps >= 0) || Double.isInfinite(eps)) throw bad(g, "invalid epsilon value: " + eps);
    }

    /** The message is built only on failure: the group check runs every step and must not allocate. */
    private static IllegalArgumentException bad(ParamGroup g, String msg) {
        return new IllegalArgumentException(g == null ? msg : "param group '" + g.name() + "': " + msg);
    }

    @Override
    protected Set<String> optionNames() {
        return OPTIONS;
    }

    @Override
    protected void checkGroup(ParamGroup g) {
        check(g.option("beta1", beta1), g.option("beta2", beta2), g.option("eps", eps), g);
    }

    @Override
    protected void stepGroup(ParamGroup group, double lr, double wd, Slot[] slots) {
        double b1 = group.option("beta1", beta1), b2 = group.option("beta2", beta2), e = group.option("eps", eps);
        double decay = 1 - lr * wd;
        for (Slot s : slots) {
            Tensor grad = s.param.grad();
            if (grad == null) continue;
            float[] p = s.param.value().data(), g = grad.data();
            float[] m = s.state(0).data(), v = s.state(1).data();
            long t = ++s.step;
            double stepSize = lr / (1 - Math.pow(b1, t));
            double bc2Sqrt = Math.sqrt(1 - Math.pow(b2, t));
            for (int i = 0; i < p.length; i++) {
                double gi = g[i];
                float mi = (float) (b1 * m[i] + (1 - b1) * gi);
                float vi = (float) (b2 * v[i] + (1 - b2) * gi * gi);
                m[i] = mi;
                v[i] = vi;
                p[i] = (float) (p[i] * decay - stepSize * mi / (Math.sqrt(vi) / bc2Sqrt + e));
            }
        }
    }

    public double beta1() {
        return beta1;
    }

    public double beta2() {
        return beta2;
    }

    public double eps() {
        return eps;
    }

    @Override
    public double weightDecay() {
        return weightDecay;
    }
}
