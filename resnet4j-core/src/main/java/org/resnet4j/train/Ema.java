package org.resnet4j.train;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;

/**
 * Exponential moving average of a model's parameters and buffers (Polyak averaging, as timm's
 * ModelEmaV2 and torchvision's reference recipe keep it): after every optimizer step,
 * {@code avg = d * avg + (1 - d) * current} over every entry of the model's state_dict. BN
 * running statistics are averaged like weights; {@code num_batches_tracked} is a counter and is
 * copied.
 *
 * <p>With warm-up, {@code d = min(decay, (1 + n) / (10 + n))} where n counts the updates so far,
 * the schedule of TensorFlow's ExponentialMovingAverage(num_updates=...): early averages forget
 * the random initialisation quickly instead of dragging it along for ~1/(1 - decay) steps.
 *
 * <p>Evaluate on the averaged weights with {@link #withAveragedWeights}, which swaps them into
 * the model and restores the trained weights afterwards, or copy them into another instance of
 * the architecture with {@link #copyTo}.
 */
public final class Ema {
    private static final String COUNTER_SUFFIX = "num_batches_tracked";
    private final Module model;
    private final double decay;
    private final boolean warmup;
    private final LinkedHashMap<String, Tensor> shadow = new LinkedHashMap<>();
    private long updates;
    private List<Tensor> backup; // the trained weights while the averaged ones are swapped in; allocated once
    private boolean swapped;

    /** Fixed decay (no warm-up). */
    public Ema(Module model, double decay) {
        this(model, decay, false);
    }

    /** Starts the average at the model's current weights. */
    public Ema(Module model, double decay, boolean warmup) {
        if (!(decay >= 0 && decay <= 1)) throw new IllegalArgumentException("EMA decay must be in [0, 1], got " + decay);
        this.model = model;
        this.decay = decay;
        this.warmup = warmup;
        model.stateDict().forEach((k, v) -> shadow.put(k, v.copy()));
    }

    public double decay() {
        return decay;
    }

    public boolean warmup() {
        return warmup;
    }

    /** Updates applied so far (n of the warm-up formula). */
    public long updates() {
        return updates;
    }

    /** The decay the next {@link #update} uses. */
    public double currentDecay() {
        return warmup ? Math.min(decay, (1.0 + updates) / (10.0 + updates)) : decay;
    }

    /** Folds the model's current weights into the average; call after each optimizer step. */
    public void update() {
        if (swapped) throw new IllegalStateException("EMA update while the averaged weights are swapped into the model");
        double d = currentDecay(), keep = 1 - d;
        Map<String, Tensor> live = model.stateDict(); // fresh each time: follows Parameter.setValue
        checkSameKeys(live);
        for (var e : shadow.entrySet()) {
            float[] avg = e.getValue().data(), cur = live.get(e.getKey()).data();
            if (e.getKey().endsWith(COUNTER_SUFFIX)) {
                System.arraycopy(cur, 0, avg, 0, avg.length);
                continue;
            }
            for (int i = 0; i < avg.length; i++) avg[i] = (float) (d * avg[i] + keep * cur[i]);
        }
        updates++;
    }

    private void checkSameKeys(Map<String, Tensor> live) {
        if (live.size() != shadow.size()) throw new IllegalStateException("model has " + live.size() + " state entries, EMA has " + shadow.size());
        for (var e : shadow.entrySet()) {
            Tensor t = live.get(e.getKey());
            if (t == null || !t.sameShape(e.getValue())) {
                throw new IllegalStateException("model entry '" + e.getKey() + "' " + (t == null ? "is gone" : "is now " + t.shapeString())
                        + "; the EMA was built for " + e.getValue().shapeString());
            }
        }
    }

    /** The averaged weights by state_dict name (live tensors, not copies). */
    public Map<String, Tensor> stateDict() {
        return Collections.unmodifiableMap(shadow);
    }

    /**
     * Checks a map of averaged weights without changing anything: exactly this EMA's keys with
     * the same shapes.
     *
     * @throws IllegalArgumentException naming every offending key
     */
    public void validateStateDict(Map<String, Tensor> state) {
        List<String> errors = new ArrayList<>();
        for (var e : shadow.entrySet()) {
            Tensor t = state.get(e.getKey());
            if (t == null) errors.add(e.getKey() + ": missing");
            else if (!t.sameShape(e.getValue())) errors.add(e.getKey() + ": expected shape " + e.getValue().shapeString() + ", got " + t.shapeString());
        }
        for (String k : state.keySet()) if (!shadow.containsKey(k)) errors.add(k + ": unexpected (not in the model)");
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException("cannot load EMA weights:\n  " + String.join("\n  ", errors.size() > 20 ? errors.subList(0, 20) : errors)
                    + (errors.size() > 20 ? "\n  and " + (errors.size() - 20) + " more" : ""));
        }
    }

    /** Replaces the average (validated first; on error nothing changes) and the update count. */
    public void loadStateDict(Map<String, Tensor> state, long updates) {
        if (updates < 0) throw new IllegalArgumentException("negative EMA update count " + updates);
        if (swapped) throw new IllegalStateException("EMA load while the averaged weights are swapped into the model");
        validateStateDict(state);
        shadow.forEach((k, v) -> v.copyFrom(state.get(k)));
        this.updates = updates;
    }

    /** Loads the averaged weights into {@code target} (another instance of the architecture), strictly. */
    public void copyTo(Module target) {
        target.loadStateDict(shadow, true);
    }

    /** Runs {@code body} with the averaged weights in the model, then restores the trained ones (also on exceptions). */
    public void withAveragedWeights(Runnable body) {
        withAveragedWeights(() -> {
            body.run();
            return null;
        });
    }

    /** As {@link #withAveragedWeights(Runnable)}, returning the body's result (e.g. an accuracy). */
    public <T> T withAveragedWeights(Supplier<T> body) {
        if (swapped) throw new IllegalStateException("averaged weights are already swapped in");
        Map<String, Tensor> live = model.stateDict();
        checkSameKeys(live);
        if (backup == null) {
            backup = new ArrayList<>();
            for (Tensor t : shadow.values()) backup.add(Tensor.zeros(t.shape()));
        }
        int i = 0;
        for (var e : shadow.entrySet()) {
            Tensor cur = live.get(e.getKey());
            backup.get(i++).copyFrom(cur);
            cur.copyFrom(e.getValue());
        }
        swapped = true;
        org.resnet4j.kernels.Conv.weightsChanged();
        try {
            return body.get();
        } finally {
            i = 0;
            for (String k : shadow.keySet()) live.get(k).copyFrom(backup.get(i++));
            org.resnet4j.kernels.Conv.weightsChanged();
            swapped = false;
        }
    }
}
