package org.resnet4j.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.resnet4j.nn.Parameter;
import org.resnet4j.tensor.Tensor;

/**
 * The bookkeeping every optimizer shares: groups, the base lr, per-parameter state and its
 * state dict. A subclass names its tensor state kinds (each shaped like the parameter), says
 * whether it counts steps per parameter, and implements {@link #stepGroup}.
 *
 * <p>State lives in {@link Slot}s built once, so a step walks arrays and allocates nothing
 * except a parameter's state the first time it is stepped.
 */
public abstract class AbstractOptimizer implements Optimizer {
    /** Key prefix of the per-parameter step count (a one-element tensor, as PyTorch's {@code state["step"]}). */
    public static final String STEP = "step";

    private final List<ParamGroup> groups;
    private final Slot[][] slots; // [group][parameter]
    private final Map<String, Slot> byName = new HashMap<>();
    private final List<String> kinds;
    private final boolean countsSteps;
    private double lr;

    /** One parameter and its state. */
    protected static final class Slot {
        public final String name;
        public final Parameter param;
        /** Indexed like {@code tensorKinds}; null until created. */
        public final Tensor[] state;
        /** Updates applied to this parameter (only meaningful when the optimizer counts steps). */
        public long step;

        Slot(String name, Parameter param, int kinds) {
            this.name = name;
            this.param = param;
            this.state = new Tensor[kinds];
        }

        /** The state tensor of kind {@code k}, created as zeros shaped like the parameter if absent. */
        public Tensor state(int k) {
            Tensor t = state[k];
            if (t == null) state[k] = t = Tensor.zeros(param.value().shape());
            return t;
        }

        boolean hasState() {
            if (step != 0) return true;
            for (Tensor t : state) if (t != null) return true;
            return false;
        }
    }

    /**
     * @param tensorKinds names of the state tensors shaped like the parameter (e.g. "exp_avg")
     * @param countsSteps whether a per-parameter "step" entry is kept
     */
    protected AbstractOptimizer(List<ParamGroup> groups, double lr, List<String> tensorKinds, boolean countsSteps) {
        if (groups == null || groups.isEmpty()) throw new IllegalArgumentException("optimizer got no param groups");
        this.groups = List.copyOf(groups);
        this.kinds = List.copyOf(tensorKinds);
        this.countsSteps = countsSteps;
        setLr(lr);
        IdentityHashMap<Parameter, String> seen = new IdentityHashMap<>();
        slots = new Slot[this.groups.size()][];
        int total = 0;
        for (int g = 0; g < slots.length; g++) {
            ParamGroup group = this.groups.get(g);
            List<Slot> list = new ArrayList<>();
            for (var e : group.params().entrySet()) {
                String prev = seen.put(e.getValue(), e.getKey());
                // PyTorch: "some parameters appear in more than one parameter group"; stepping one twice is never intended.
                if (prev != null) throw new IllegalArgumentException("parameter '" + e.getKey() + "' (group '" + group.name()
                        + "') is the same tensor as '" + prev + "': a parameter may appear in one group only");
                if (byName.containsKey(e.getKey())) throw new IllegalArgumentException("two parameters are named '" + e.getKey() + "'");
                Slot s = new Slot(e.getKey(), e.getValue(), kinds.size());
                byName.put(e.getKey(), s);
                list.add(s);
            }
            slots[g] = list.toArray(new Slot[0]);
            total += slots[g].length;
        }
        if (total == 0) throw new IllegalArgumentException("optimizer got an empty parameter list");
    }

    /** Updates the parameters of one group that have a gradient. */
    protected abstract void stepGroup(ParamGroup group, double lr, double weightDecay, Slot[] slots);

    /** The optimizer's default weight decay (a group may override it). */
    public abstract double weightDecay();

    /** Option names a group may set for this optimizer. */
    protected abstract Set<String> optionNames();

    /** Refuses unknown option names and invalid option values; called at construction and each step. */
    protected abstract void checkGroup(ParamGroup group);

    /** Subclasses call this at the end of their constructor, once their defaults are set. */
    protected final void checkGroups() {
        for (ParamGroup g : groups) {
            for (String k : g.options().keySet()) {
                if (!optionNames().contains(k)) {
                    throw new IllegalArgumentException("param group '" + g.name() + "': " + getClass().getSimpleName()
                            + " has no option '" + k + "' (options: " + optionNames() + ")");
                }
            }
            checkGroup(g);
        }
    }

    @Override
    public final void step() {
        for (int g = 0; g < slots.length; g++) {
            ParamGroup group = groups.get(g);
            checkGroup(group); // settings are mutable between steps; the check is a few comparisons
            stepGroup(group, group.effectiveLr(lr), group.effectiveWeightDecay(weightDecay()), slots[g]);
        }
        org.resnet4j.kernels.Conv.weightsChanged(); // cached inference transforms of the old weights are stale
    }

    @Override
    public final void zeroGrad() {
        for (Slot[] group : slots) for (Slot s : group) s.param.zeroGradKeepingStorage(); // no gradient arrays per step
    }

    @Override
    public final List<ParamGroup> groups() {
        return groups;
    }

    @Override
    public final void setLr(double lr) {
        if (!(lr >= 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("invalid learning rate: " + lr);
        this.lr = lr;
    }

    @Override
    public final double lr() {
        return lr;
    }

    /** The state kinds this optimizer keeps, "step" last if it counts steps. */
    public final List<String> stateKinds() {
        List<String> all = new ArrayList<>(kinds);
        if (countsSteps) all.add(STEP);
        return Collections.unmodifiableList(all);
    }

    @Override
    public final Map<String, Tensor> stateDict() {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        for (Slot[] group : slots) {
            for (Slot s : group) {
                if (!s.hasState()) continue;
                for (int k = 0; k < kinds.size(); k++) {
                    if (s.state[k] != null) out.put(kinds.get(k) + "/" + s.name, s.state[k]);
                }
                if (countsSteps) out.put(STEP + "/" + s.name, Tensor.scalar(stepAsFloat(s)));
            }
        }
        return out;
    }

    /**
     * The step count is stored as a float32 scalar, as PyTorch stores {@code state["step"]};
     * integers are exact in float32 up to 2^24, far beyond a training run's updates.
     */
    private static float stepAsFloat(Slot s) {
        if (s.step > (1L << 24)) throw new IllegalStateException("step count of '" + s.name + "' (" + s.step + ") exceeds 2^24");
        return s.step;
    }

    @Override
    public final void validateStateDict(Map<String, Tensor> state) {
        List<String> errors = new ArrayList<>();
        Map<String, Set<String>> present = new HashMap<>();
        for (var e : state.entrySet()) {
            String key = e.getKey();
            Tensor t = e.getValue();
            int slash = key.indexOf('/');
            String kind = slash < 0 ? key : key.substring(0, slash), name = slash < 0 ? "" : key.substring(slash + 1);
            Slot s = byName.get(name);
            if (slash < 0 || !stateKinds().contains(kind)) {
                errors.add(key + ": unknown state kind '" + kind + "' (" + getClass().getSimpleName() + " keeps " + stateKinds() + ")");
            } else if (s == null) {
                errors.add(key + ": no parameter '" + name + "' in this optimizer");
            } else {
                present.computeIfAbsent(name, x -> new TreeSet<>()).add(kind); // for the completeness check below
                if (t == null || t.isMeta()) {
                    errors.add(key + ": no data");
                } else if (kind.equals(STEP)) {
                    float v = t.size() == 1 ? t.data()[0] : Float.NaN;
                    if (t.size() != 1) errors.add(key + ": expected one element, got shape " + t.shapeString());
                    else if (!(v >= 0 && v == Math.rint(v))) errors.add(key + ": step count " + v + " is not a non-negative integer");
                } else if (!t.sameShape(s.param.value())) {
                    errors.add(key + ": expected shape " + s.param.value().shapeString() + ", got " + t.shapeString());
                }
            }
        }
        // A parameter's state is one unit (exp_avg without exp_avg_sq or step cannot be resumed).
        List<String> required = stateKinds();
        present.forEach((name, have) -> {
            if (have.size() != required.size()) {
                List<String> missing = new ArrayList<>(required);
                missing.removeAll(have);
                for (String k : missing) errors.add(k + "/" + name + ": missing (the state of '" + name + "' has " + have + ")");
            }
        });
        if (!errors.isEmpty()) {
            Collections.sort(errors);
            throw new IllegalArgumentException("cannot load " + getClass().getSimpleName() + " state:\n  "
                    + String.join("\n  ", errors.size() > 20 ? errors.subList(0, 20) : errors)
                    + (errors.size() > 20 ? "\n  and " + (errors.size() - 20) + " more" : ""));
        }
    }

    @Override
    public final void loadStateDict(Map<String, Tensor> state) {
        validateStateDict(state);
        for (Slot[] group : slots) {
            for (Slot s : group) {
                for (int k = 0; k < kinds.size(); k++) {
                    Tensor src = state.get(kinds.get(k) + "/" + s.name);
                    if (src == null) s.state[k] = null;
                    else if (s.state[k] != null) s.state[k].copyFrom(src);
                    else s.state[k] = src.copy();
                }
                Tensor step = countsSteps ? state.get(STEP + "/" + s.name) : null;
                s.step = step == null ? 0 : (long) step.data()[0];
            }
        }
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "(lr " + lr + ", weight_decay " + weightDecay() + ", groups "
                + Arrays.toString(groups.stream().map(ParamGroup::name).toArray()) + ")";
    }
}
