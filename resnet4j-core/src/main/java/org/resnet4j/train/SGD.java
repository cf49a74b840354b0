package org.resnet4j.train;

import java.util.List;
import java.util.Set;
import org.resnet4j.tensor.Tensor;

/**
 * Stochastic gradient descent with momentum, exactly torch.optim.SGD
 * (https://pytorch.org/docs/1.13/generated/torch.optim.SGD.html), per parameter with gradient g:
 *
 * <pre>
 *   g = g + weight_decay * p                      (L2 penalty added to the gradient)
 *   if momentum != 0:
 *       b = g                                     on the first step (the buffer starts as the gradient)
 *       b = momentum * b + (1 - dampening) * g    afterwards
 *       g = nesterov ? g + momentum * b : b
 *   p = p - lr * g
 * </pre>
 *
 * The first step initialises the buffer to g rather than (1 - dampening) g, as PyTorch does.
 * Element arithmetic runs in double and is rounded once into the float32 parameter and buffer.
 *
 * <p>Group options: {@code momentum}, {@code dampening}, {@code nesterov} (0 or 1). State:
 * {@code momentum_buffer/<name>}.
 */
public final class SGD extends AbstractOptimizer {
    public static final String MOMENTUM_BUFFER = "momentum_buffer";
    private static final Set<String> OPTIONS = Set.of("momentum", "dampening", "nesterov");
    private final double momentum, dampening, weightDecay;
    private final boolean nesterov;

    /** Same defaults as PyTorch for the rest: dampening 0, no Nesterov. */
    public SGD(List<ParamGroup> groups, double lr, double momentum, double weightDecay) {
        this(groups, lr, momentum, 0, weightDecay, false);
    }

    public SGD(List<ParamGroup> groups, double lr, double momentum, double dampening, double weightDecay, boolean nesterov) {
        super(groups, lr, List.of(MOMENTUM_BUFFER), false);
        check(momentum, dampening, weightDecay, nesterov, null);
        this.momentum = momentum;
        this.dampening = dampening;
        this.weightDecay = weightDecay;
        this.nesterov = nesterov;
        checkGroups();
    }

    /** PyTorch's argument checks, including "Nesterov momentum requires a momentum and zero dampening". */
    private static void check(double momentum, double dampening, double weightDecay, boolean nesterov, ParamGroup g) {
        if (!(momentum >= 0) || Double.isInfinite(momentum)) throw bad(g, "invalid momentum value: " + momentum);
        if (!Double.isFinite(dampening)) throw bad(g, "invalid dampening value: " + dampening);
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) throw bad(g, "invalid weight_decay value: " + weightDecay);
        if (nesterov && (momentum <= 0 || dampening != 0)) throw bad(g, "Nesterov momentum requires a momentum and zero dampening");
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
        double n = g.option("nesterov", nesterov ? 1 : 0);
        if (n != 0 && n != 1) throw bad(g, "nesterov must be 0 or 1, got " + n);
        check(g.option("momentum", momentum), g.option("dampening", dampening), 0, n == 1, g);
    }

    @Override
    protected void stepGroup(ParamGroup group, double lr, double wd, Slot[] slots) {
        double mom = group.option("momentum", momentum), damp = group.option("dampening", dampening);
        boolean nest = group.option("nesterov", nesterov ? 1 : 0) == 1;
        for (Slot s : slots) {
            Tensor grad = s.param.grad();
            if (grad == null) continue;
            float[] p = s.param.value().data(), g = grad.data();
            if (mom == 0) {
                for (int i = 0; i < p.length; i++) p[i] = (float) (p[i] - lr * (g[i] + wd * p[i]));
                continue;
            }
            boolean first = s.state[0] == null;
            float[] b = s.state(0).data();
            double keep = 1 - damp;
            for (int i = 0; i < p.length; i++) {
                double d = g[i] + wd * p[i];
                float buf = (float) (first ? d : mom * b[i] + keep * d);
                b[i] = buf;
                p[i] = (float) (p[i] - lr * (nest ? d + mom * buf : buf));
            }
        }
    }

    public double momentum() {
        return momentum;
    }

    public double dampening() {
        return dampening;
    }

    public boolean nesterov() {
        return nesterov;
    }

    @Override
    public double weightDecay() {
        return weightDecay;
    }
}
