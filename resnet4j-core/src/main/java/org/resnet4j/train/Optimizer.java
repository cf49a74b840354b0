package org.resnet4j.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.resnet4j.nn.Parameter;
import org.resnet4j.tensor.Tensor;

/**
 * A first-order optimizer over named param groups, after torch.optim.Optimizer.
 *
 * <p>Typical iteration: {@code opt.setLr(schedule.lr(it)); loss.backward(); opt.step(); opt.zeroGrad();}.
 * Parameters whose gradient is null (no path from the loss, or frozen) are skipped by
 * {@link #step}, weight decay included, as in PyTorch.
 */
public interface Optimizer {
    /** One update of every parameter that has a gradient. */
    void step();

    /**
     * Drops every gradient (PyTorch's {@code zero_grad(set_to_none=True)}, the default since 2.0),
     * keeping its storage for the next backward to reuse ({@link org.resnet4j.autograd.Variable#zeroGradKeepingStorage}):
     * copy a gradient you want to keep past this call.
     */
    void zeroGrad();

    /** The groups, in order; their settings may be changed between steps. */
    List<ParamGroup> groups();

    /** Sets the base lr; each group uses {@link ParamGroup#effectiveLr}. */
    void setLr(double lr);

    /** The base lr. */
    double lr();

    /**
     * The optimizer state keyed {@code <kind>/<parameter name>}, e.g. {@code
     * momentum_buffer/layer1.0.conv1.weight}, {@code exp_avg/fc.bias}, {@code step/fc.bias} (a
     * one-element tensor). Parameters that have not been stepped have no entries. The tensors are
     * live (not copies), like {@code Module.stateDict()}. Hyper-parameters are not included: they
     * come from the run's configuration and schedule.
     */
    Map<String, Tensor> stateDict();

    /**
     * Checks a state map against this optimizer without changing anything: every key must be a
     * known kind for a known parameter, with the parameter's shape, and a parameter's kinds must
     * be all present or all absent.
     *
     * @throws IllegalArgumentException naming every offending key
     */
    void validateStateDict(Map<String, Tensor> state);

    /**
     * Replaces the whole state with {@code state} (copied), after {@link #validateStateDict}:
     * on error nothing is changed. Parameters without entries start fresh.
     */
    void loadStateDict(Map<String, Tensor> state);

    /** Every parameter of every group, in order. */
    default List<Parameter> parameters() {
        List<Parameter> out = new ArrayList<>();
        for (ParamGroup g : groups()) out.addAll(g.params().values());
        return out;
    }
}
