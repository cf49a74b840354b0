package org.resnet4j.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.resnet4j.autograd.Variable;
import org.resnet4j.tensor.Tensor;

/**
 * The base of every layer and model, after torch.nn.Module: named parameters, buffers and
 * children registered in order, so {@link #stateDict()} yields torchvision's keys in
 * torchvision's order (own parameters, own buffers, then each child), e.g.
 * {@code layer2.0.downsample.1.running_var}.
 */
public abstract class Module {
    private final LinkedHashMap<String, Parameter> params = new LinkedHashMap<>();
    private final LinkedHashMap<String, Tensor> buffers = new LinkedHashMap<>();
    private final LinkedHashMap<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;
    private static final ThreadLocal<BiConsumer<Module, Variable>> HOOK = new ThreadLocal<>();
    private static final ThreadLocal<Boolean> META = ThreadLocal.withInitial(() -> false);

    /**
     * Builds modules whose parameters and buffers are meta tensors (shapes only, no storage, no
     * initialization), like PyTorch's device="meta": listing and summarizing big models costs nothing.
     */
    public static <T> T buildMeta(java.util.function.Supplier<T> build) {
        boolean prev = META.get();
        META.set(true);
        try {
            return build.get();
        } finally {
            META.set(prev);
        }
    }

    /** A new zero tensor for a parameter or buffer, or a meta tensor inside {@link #buildMeta}. */
    protected static Tensor allocate(int... shape) {
        return META.get() ? Tensor.meta(shape) : Tensor.zeros(shape);
    }

    /** A new tensor filled with a constant (meta inside {@link #buildMeta}). */
    protected static Tensor allocate(float value, int... shape) {
        if (META.get()) return Tensor.meta(shape);
        return Tensor.full(value, shape);
    }

    /** The computation; call {@link #call} rather than this, so hooks see every module. */
    public abstract Variable forward(Variable x);

    /** Runs forward and reports (module, output) to the current thread's hook, if any. */
    public final Variable call(Variable x) {
        Variable y = forward(x);
        BiConsumer<Module, Variable> hook = HOOK.get();
        if (hook != null) hook.accept(this, y);
        return y;
    }

    /** Whether a forward hook is watching this thread (fused inference paths then step aside so every module reports). */
    public static boolean forwardHookActive() {
        return HOOK.get() != null;
    }

    /** Runs {@code body} with a hook that sees every module's output on this thread (for summaries and probes). */
    public static <T> T withForwardHook(BiConsumer<Module, Variable> hook, java.util.function.Supplier<T> body) {
        BiConsumer<Module, Variable> prev = HOOK.get();
        HOOK.set(hook);
        try {
            return body.get();
        } finally {
            HOOK.set(prev);
        }
    }

    // ------------------------------------------------------------ registration
    protected final <M extends Module> M register(String name, M child) {
        checkName(name);
        children.put(name, child);
        return child;
    }

    protected final Parameter parameter(String name, Tensor value) {
        checkName(name);
        Parameter p = new Parameter(value);
        params.put(name, p);
        return p;
    }

    protected final Tensor buffer(String name, Tensor value) {
        checkName(name);
        buffers.put(name, value);
        return value;
    }

    private void checkName(String name) {
        if (name.isEmpty() || name.contains(".")) throw new IllegalArgumentException("bad member name '" + name + "'");
        if (params.containsKey(name) || buffers.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException("'" + name + "' is already registered in " + getClass().getSimpleName());
        }
    }

    /**
     * Makes {@code state}, in that order, this module's own buffers and leaves it no own
     * parameters (children are untouched): for a layer whose trainable tensors become fixed
     * state, as BatchNorm2d turned into torchvision's FrozenBatchNorm2d. The tensors keep their
     * identity, so whoever holds them (a Parameter wrapping one) sees what a load writes.
     */
    protected final void restateAsBuffers(LinkedHashMap<String, Tensor> state) {
        params.clear();
        buffers.clear();
        state.forEach(this::buffer);
    }

    /** Replaces a registered child (e.g. a new classifier head); the new module keeps the name. */
    protected final void replace(String name, Module child) {
        if (!children.containsKey(name)) throw new IllegalArgumentException("no child '" + name + "' in " + getClass().getSimpleName());
        children.put(name, child);
    }

    // ------------------------------------------------------------ traversal
    public final Map<String, Module> children() {
        return java.util.Collections.unmodifiableMap(children);
    }

    /** Every module with its dotted name ("" for this one), depth first in registration order. */
    public final LinkedHashMap<String, Module> namedModules() {
        LinkedHashMap<String, Module> out = new LinkedHashMap<>();
        collectModules("", this, out);
        return out;
    }

    private static void collectModules(String prefix, Module m, LinkedHashMap<String, Module> out) {
        out.put(prefix, m);
        for (var e : m.children.entrySet()) collectModules(join(prefix, e.getKey()), e.getValue(), out);
    }

    /** Dotted name of each module, by identity (for hooks). */
    public final IdentityHashMap<Module, String> moduleNames() {
        IdentityHashMap<Module, String> names = new IdentityHashMap<>();
        namedModules().forEach((k, v) -> names.putIfAbsent(v, k));
        return names;
    }

    public final LinkedHashMap<String, Parameter> namedParameters() {
        LinkedHashMap<String, Parameter> out = new LinkedHashMap<>();
        namedModules().forEach((prefix, m) -> m.params.forEach((k, p) -> out.put(join(prefix, k), p)));
        return out;
    }

    public final List<Parameter> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** Own parameters only (not children's). */
    public final Map<String, Parameter> ownParameters() {
        return java.util.Collections.unmodifiableMap(params);
    }

    /** Own buffers only. */
    public final Map<String, Tensor> ownBuffers() {
        return java.util.Collections.unmodifiableMap(buffers);
    }

    /** Parameters and buffers by torchvision state_dict name, in PyTorch's order. The tensors are live, not copies. */
    public final LinkedHashMap<String, Tensor> stateDict() {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        collectState("", this, out);
        return out;
    }

    private static void collectState(String prefix, Module m, LinkedHashMap<String, Tensor> out) {
        m.params.forEach((k, p) -> out.put(join(prefix, k), p.value()));
        m.buffers.forEach((k, b) -> out.put(join(prefix, k), b));
        m.children.forEach((k, c) -> collectState(join(prefix, k), c, out));
    }

    private static String join(String prefix, String name) {
        return prefix.isEmpty() ? name : prefix + "." + name;
    }

    public final long parameterCount() {
        long n = 0;
        for (Parameter p : namedParameters().values()) n += p.value().size();
        return n;
    }

    // ------------------------------------------------------------ loading
    /** What a non-strict load left out. */
    public record LoadReport(List<String> missing, List<String> unexpected) {}

    /**
     * Copies tensors into this module's parameters and buffers by name. Everything is checked
     * before anything is written: with {@code strict}, missing or unexpected keys fail; a shape
     * mismatch always fails. The error lists every offending key with both shapes.
     */
    public final LoadReport loadStateDict(Map<String, Tensor> source, boolean strict) {
        LinkedHashMap<String, Tensor> own = stateDict();
        List<String> missing = new ArrayList<>(), unexpected = new ArrayList<>(), wrongShape = new ArrayList<>();
        for (var e : own.entrySet()) {
            Tensor src = source.get(e.getKey());
            if (src == null) {
                missing.add(e.getKey());
            } else if (!src.sameShape(e.getValue())) {
                wrongShape.add(e.getKey() + ": expected " + e.getValue().shapeString() + ", got " + src.shapeString());
            }
        }
        for (String k : source.keySet()) if (!own.containsKey(k)) unexpected.add(k);
        StringBuilder err = new StringBuilder();
        if (!wrongShape.isEmpty()) err.append("\n  wrong shape: ").append(String.join("\n               ", wrongShape));
        if (strict && !missing.isEmpty()) err.append("\n  missing keys: ").append(abbreviate(missing));
        if (strict && !unexpected.isEmpty()) err.append("\n  unexpected keys: ").append(abbreviate(unexpected));
        if (!err.isEmpty()) throw new IllegalArgumentException("cannot load weights into " + getClass().getSimpleName() + ":" + err);
        for (var e : own.entrySet()) {
            Tensor src = source.get(e.getKey());
            if (src != null) e.getValue().copyFrom(src);
        }
        org.resnet4j.kernels.Conv.weightsChanged();
        return new LoadReport(missing, unexpected);
    }

    private static String abbreviate(List<String> keys) {
        return keys.size() <= 12 ? keys.toString()
                : keys.subList(0, 12) + " and " + (keys.size() - 12) + " more";
    }

    // ------------------------------------------------------------ modes
    public Module train(boolean mode) {
        for (Module m : namedModules().values()) m.training = mode;
        return this;
    }

    public final Module train() {
        return train(true);
    }

    public final Module eval() {
        return train(false);
    }

    public final boolean isTraining() {
        return training;
    }

    /** Stops gradients for every parameter whose name starts with one of the prefixes (a module name or a full key). */
    public final void freeze(String... prefixes) {
        setRequiresGrad(false, prefixes);
    }

    public final void unfreeze(String... prefixes) {
        setRequiresGrad(true, prefixes);
    }

    private void setRequiresGrad(boolean on, String... prefixes) {
        LinkedHashMap<String, Parameter> named = namedParameters();
        for (String p : prefixes) {
            boolean hit = false;
            for (var e : named.entrySet()) {
                if (e.getKey().equals(p) || e.getKey().startsWith(p + ".")) {
                    e.getValue().setRequiresGrad(on);
                    hit = true;
                }
            }
            if (!hit) throw new IllegalArgumentException("no parameters under '" + p + "'; top-level modules: " + children.keySet());
        }
    }

    public final void zeroGrad() {
        for (Parameter p : namedParameters().values()) p.zeroGrad();
    }

    /** One line describing this layer's configuration (PyTorch's extra_repr). */
    public String describe() {
        return getClass().getSimpleName();
    }

    @Override
    public String toString() {
        return describe();
    }

    static String shape(int... s) {
        return Arrays.toString(s);
    }
}
