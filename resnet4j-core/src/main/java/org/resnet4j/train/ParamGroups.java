package org.resnet4j.train;

import java.util.LinkedHashMap;
import java.util.List;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.Parameter;

/** Ready-made param group splits. */
public final class ParamGroups {
    /** Group names used by {@link #of}. */
    public static final String DECAY = "decay", NO_DECAY = "no_decay", ALL = "all";

    private ParamGroups() {}

    /**
     * The trainable parameters of {@code model} (requiresGrad; frozen ones are left out, as
     * {@code filter(lambda p: p.requires_grad, ...)} does in PyTorch recipes), in state_dict order.
     *
     * <p>With {@code noDecayOnBnAndBias}: two groups, {@value #DECAY} (weights of rank >= 2:
     * convolutions, linear layers) with the optimizer's weight decay, and {@value #NO_DECAY}
     * (rank {@literal <=} 1: batch-norm gamma/beta and biases) with weight decay 0 — the recipe of Goyal et
     * al. 2017 ("Accurate, Large Minibatch SGD", section 5.1 applies decay to weights only) and
     * timm's {@code param_groups_weight_decay}. Both groups are always returned, even if one is
     * empty, so a trainer can address them by position. Without it: one group {@value #ALL}.
     */
    public static List<ParamGroup> of(Module model, boolean noDecayOnBnAndBias) {
        LinkedHashMap<String, Parameter> decay = new LinkedHashMap<>(), noDecay = new LinkedHashMap<>();
        model.namedParameters().forEach((name, p) -> {
            if (!p.requiresGrad()) return;
            (noDecayOnBnAndBias && p.value().rank() <= 1 ? noDecay : decay).put(name, p);
        });
        if (!noDecayOnBnAndBias) return List.of(new ParamGroup(ALL, decay));
        return List.of(new ParamGroup(DECAY, decay), new ParamGroup(NO_DECAY, noDecay).setWeightDecay(0));
    }
}
