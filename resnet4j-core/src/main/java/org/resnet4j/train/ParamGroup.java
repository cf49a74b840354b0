package org.resnet4j.train;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalDouble;
import org.resnet4j.nn.Parameter;

/**
 * A named set of parameters that share optimizer settings: one entry of PyTorch's
 * {@code optimizer.param_groups} (https://pytorch.org/docs/1.13/optim.html#per-parameter-options).
 *
 * <p>The parameter list is fixed at construction; the settings are mutable, as a PyTorch group
 * dict is, so a trainer may change them between steps. The learning rate of a group is either
 * {@code baseLr * lrScale} — it follows {@link Optimizer#setLr} and therefore the schedule — or,
 * when {@link #setLr} was called, that absolute value, which the schedule does not touch. Weight
 * decay and the per-optimizer {@linkplain #setOption options} ("momentum", "beta1", ...) fall back
 * to the optimizer's defaults when unset.
 */
public final class ParamGroup {
    private final String name;
    private final Map<String, Parameter> params;
    private double lrScale = 1;
    private double lr = Double.NaN, weightDecay = Double.NaN; // NaN: unset
    private final LinkedHashMap<String, Double> options = new LinkedHashMap<>();

    /** @param params parameters by their state_dict name, in the order given */
    public ParamGroup(String name, Map<String, ? extends Parameter> params) {
        this.name = Objects.requireNonNull(name, "name");
        LinkedHashMap<String, Parameter> copy = new LinkedHashMap<>();
        Objects.requireNonNull(params, "params").forEach((k, p) -> {
            if (k == null || k.isEmpty()) throw new IllegalArgumentException("param group '" + name + "': empty parameter name");
            copy.put(k, Objects.requireNonNull(p, () -> "param group '" + name + "': parameter '" + k + "' is null"));
        });
        this.params = Collections.unmodifiableMap(copy);
    }

    public String name() {
        return name;
    }

    /** The parameters by name, in order (unmodifiable). */
    public Map<String, Parameter> params() {
        return params;
    }

    /** Number of scalar values in the group. */
    public long numel() {
        long n = 0;
        for (Parameter p : params.values()) n += p.value().size();
        return n;
    }

    public double lrScale() {
        return lrScale;
    }

    /** The group's lr becomes {@code scale * baseLr} (and any absolute lr is cleared). */
    public ParamGroup setLrScale(double scale) {
        requireNonNegative("lr scale", scale);
        this.lrScale = scale;
        this.lr = Double.NaN;
        return this;
    }

    /** The absolute lr, if set. */
    public OptionalDouble lr() {
        return Double.isNaN(lr) ? OptionalDouble.empty() : OptionalDouble.of(lr);
    }

    /** Fixes the group's lr, ignoring the base lr (and so the schedule) from now on. */
    public ParamGroup setLr(double lr) {
        requireNonNegative("lr", lr);
        this.lr = lr;
        return this;
    }

    public OptionalDouble weightDecay() {
        return Double.isNaN(weightDecay) ? OptionalDouble.empty() : OptionalDouble.of(weightDecay);
    }

    public ParamGroup setWeightDecay(double wd) {
        requireNonNegative("weight decay", wd);
        this.weightDecay = wd;
        return this;
    }

    /** Overrides an optimizer hyper-parameter for this group (the optimizer checks the name). */
    public ParamGroup setOption(String key, double value) {
        if (!Double.isFinite(value)) throw new IllegalArgumentException("param group '" + name + "': option " + key + " = " + value);
        options.put(Objects.requireNonNull(key, "key"), value);
        return this;
    }

    public Map<String, Double> options() {
        return Collections.unmodifiableMap(options);
    }

    /** The option's value, or {@code fallback} when unset (no boxing of the fallback: called every step). */
    public double option(String key, double fallback) {
        Double v = options.get(key);
        return v == null ? fallback : v;
    }

    /** The lr this group uses when the optimizer's base lr is {@code baseLr}. */
    public double effectiveLr(double baseLr) {
        return Double.isNaN(lr) ? baseLr * lrScale : lr;
    }

    public double effectiveWeightDecay(double fallback) {
        return Double.isNaN(weightDecay) ? fallback : weightDecay;
    }

    private void requireNonNegative(String what, double v) {
        if (!(v >= 0) || Double.isInfinite(v)) throw new IllegalArgumentException("param group '" + name + "': invalid " + what + " " + v);
    }

    @Override
    public String toString() {
        return "ParamGroup(" + name + ", " + params.size() + " tensors, " + numel() + " values"
                + (Double.isNaN(lr) ? ", lr x" + lrScale : ", lr " + lr)
                + (Double.isNaN(weightDecay) ? "" : ", weight_decay " + weightDecay)
                + (options.isEmpty() ? "" : ", " + options) + ")";
    }
}
