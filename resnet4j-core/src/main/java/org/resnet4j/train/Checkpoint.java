package org.resnet4j.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.io.WeightsFormatException;
import org.resnet4j.io.json.Json;
import org.resnet4j.io.json.JsonException;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;

/**
 * A whole training state in one safetensors file, so any safetensors reader can open it and a
 * crash mid-write never leaves a torn checkpoint ({@link SafeTensors#write} is temp file + fsync +
 * rename):
 *
 * <pre>
 *   model/&lt;state_dict key&gt;     the model's parameters and buffers (torchvision names)
 *   optim/&lt;kind&gt;/&lt;param name&gt;  the optimizer state, e.g. optim/momentum_buffer/fc.weight
 *   ema/&lt;state_dict key&gt;       the EMA weights, if any
 *   __metadata__ {"resnet4j": "&lt;JSON&gt;"}   format, version, epoch, iteration, best_metric,
 *                                 rng_state, config, schedule, optimizer class, EMA decay/updates
 * </pre>
 *
 * Loading reads and checks everything — metadata, every key and shape against the model, the
 * optimizer and the EMA — before it writes anything, so a refused checkpoint leaves the run
 * exactly as it was.
 */
public final class Checkpoint {
    public static final String METADATA_KEY = "resnet4j", FORMAT = "resnet4j-checkpoint";
    public static final int VERSION = 1;
    public static final String MODEL = "model/", OPTIM = "optim/", EMA = "ema/";

    private Checkpoint() {}

    /**
     * The training progress stored beside the tensors.
     *
     * @param epoch completed epochs
     * @param iteration optimizer steps taken (the schedule's input)
     * @param bestMetric best validation metric so far, NaN if none yet
     * @param config the run's configuration; JSON-compatible values (numbers read back as Long or Double)
     * @param rngState the state of the run's random generators
     * @param schedule whatever the trainer needs to rebuild its schedule (e.g. the spec string)
     */
    public record TrainState(long epoch, long iteration, double bestMetric, Map<String, Object> config, long[] rngState,
                             Map<String, Object> schedule) {
        public TrainState {
            if (epoch < 0 || iteration < 0) throw new IllegalArgumentException("negative epoch " + epoch + " or iteration " + iteration);
            config = frozen(config);
            schedule = frozen(schedule);
            rngState = rngState == null ? new long[0] : rngState.clone();
        }

        /** Epoch 0, iteration 0, no best metric yet. */
        public static TrainState start(Map<String, Object> config, long[] rngState, Map<String, Object> schedule) {
            return new TrainState(0, 0, Double.NaN, config, rngState, schedule);
        }

        @Override
        public long[] rngState() {
            return rngState.clone();
        }

        public TrainState withProgress(long epoch, long iteration, long[] rngState) {
            return new TrainState(epoch, iteration, bestMetric, config, rngState, schedule);
        }

        public TrainState withBestMetric(double best) {
            return new TrainState(epoch, iteration, best, config, rngState, schedule);
        }

        private static Map<String, Object> frozen(Map<String, Object> m) {
            return m == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(m)); // Map.copyOf refuses JSON nulls
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof TrainState t && t.epoch == epoch && t.iteration == iteration
                    && Double.compare(t.bestMetric, bestMetric) == 0 && t.config.equals(config)
                    && Arrays.equals(t.rngState, rngState) && t.schedule.equals(schedule);
        }

        @Override
        public int hashCode() {
            return Objects.hash(epoch, iteration, bestMetric, config, Arrays.hashCode(rngState), schedule);
        }

        @Override
        public String toString() {
            return "TrainState[epoch=" + epoch + ", iteration=" + iteration + ", bestMetric=" + bestMetric + ", config=" + config
                    + ", rngState=" + Arrays.toString(rngState) + ", schedule=" + schedule + "]";
        }
    }

    /**
     * Writes model, optimizer state (null: none), EMA (null: none) and {@code state} to
     * {@code file}, atomically.
     */
    public static void save(Path file, Module model, Optimizer optimizer, Ema ema, TrainState state) throws IOException {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(state, "state");
        LinkedHashMap<String, Tensor> tensors = new LinkedHashMap<>();
        model.stateDict().forEach((k, v) -> tensors.put(MODEL + k, v));
        if (optimizer != null) optimizer.stateDict().forEach((k, v) -> tensors.put(OPTIM + k, v));
        if (ema != null) ema.stateDict().forEach((k, v) -> tensors.put(EMA + k, v));
        SafeTensors.write(file, tensors, Map.of(METADATA_KEY, metadataJson(state, optimizer, ema)));
    }

    static String metadataJson(TrainState s, Optimizer optimizer, Ema ema) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("format", FORMAT);
        o.put("version", VERSION);
        o.put("epoch", s.epoch());
        o.put("iteration", s.iteration());
        // JSON has no NaN or infinity; "no best yet" is null.
        o.put("best_metric", Double.isFinite(s.bestMetric()) ? s.bestMetric() : null);
        o.put("rng_state", s.rngState);
        o.put("config", s.config());
        o.put("schedule", s.schedule());
        o.put("optimizer", optimizer != null ? optimizer.getClass().getSimpleName() : null);
        if (ema != null) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("decay", ema.decay());
            e.put("warmup", ema.warmup());
            e.put("updates", ema.updates());
            o.put("ema", e);
        } else {
            o.put("ema", null);
        }
        try {
            return Json.write(o);
        } catch (JsonException e) { // NaN, infinities, or a value JSON cannot hold
            throw new IllegalArgumentException("training state is not JSON-serializable: " + e.getMessage(), e);
        }
    }

    /** The parsed metadata: the training state plus what the file says it holds. */
    record Header(TrainState state, String optimizer, Long emaUpdates) {}

    /**
     * The weights a checkpoint's run was evaluated with: its EMA weights when it kept an EMA,
     * else its {@code model/} entries, prefixes stripped.
     */
    public static LinkedHashMap<String, Tensor> evaluatedWeights(SafeTensors.Contents c) {
        LinkedHashMap<String, Tensor> model = new LinkedHashMap<>(), ema = new LinkedHashMap<>();
        c.tensors().forEach((k, v) -> {
            if (k.startsWith(MODEL)) model.put(k.substring(MODEL.length()), v);
            if (k.startsWith(EMA)) ema.put(k.substring(EMA.length()), v);
        });
        return ema.isEmpty() ? model : ema;
    }

    /** Whether a checkpoint holds EMA weights. */
    public static boolean hasEma(SafeTensors.Contents c) {
        return c.tensors().keySet().stream().anyMatch(k -> k.startsWith(EMA));
    }

    /** The training state of a checkpoint without touching any model (e.g. to show progress). */
    public static TrainState readState(Path file) throws IOException {
        return header(file, SafeTensors.read(file)).state();
    }

    /**
     * Restores a checkpoint into {@code model}, {@code optimizer} (null: its state is ignored)
     * and {@code ema} (null: ignored), after checking all of it.
     *
     * @throws WeightsFormatException if the file is not a readable resnet4j checkpoint
     * @throws IllegalArgumentException if it does not fit the model, optimizer or EMA; the message
     *     names every offending key, and nothing has been changed
     */
    public static TrainState load(Path file, Module model, Optimizer optimizer, Ema ema) throws IOException {
        SafeTensors.Contents c = SafeTensors.read(file);
        Header h = header(file, c);
        LinkedHashMap<String, Tensor> m = new LinkedHashMap<>(), o = new LinkedHashMap<>(), e = new LinkedHashMap<>();
        List<String> stray = new ArrayList<>();
        c.tensors().forEach((k, v) -> {
            if (k.startsWith(MODEL)) m.put(k.substring(MODEL.length()), v);
            else if (k.startsWith(OPTIM)) o.put(k.substring(OPTIM.length()), v);
            else if (k.startsWith(EMA)) e.put(k.substring(EMA.length()), v);
            else stray.add(k);
        });
        if (!stray.isEmpty()) throw new WeightsFormatException(file + ": keys outside model/, optim/, ema/: " + abbreviate(stray));

        // Every check first ...
        List<String> errors = new ArrayList<>(checkModel(model, m));
        if (optimizer != null) {
            String name = optimizer.getClass().getSimpleName();
            if (h.optimizer() == null) errors.add("the checkpoint has no optimizer state (saved without an optimizer)");
            else if (!h.optimizer().equals(name)) errors.add("the checkpoint holds " + h.optimizer() + " state, this run uses " + name);
            else errors.addAll(prefixed(OPTIM, () -> optimizer.validateStateDict(o)));
        }
        if (ema != null) {
            if (h.emaUpdates() == null) errors.add("the checkpoint has no EMA weights (saved without an EMA)");
            else errors.addAll(prefixed(EMA, () -> ema.validateStateDict(e)));
        }
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException(file + ": cannot resume from this checkpoint:\n  " + String.join("\n  ", errors));
        }
        // ... then every write; none of these can fail after the checks above.
        model.loadStateDict(m, true);
        if (optimizer != null) optimizer.loadStateDict(o);
        if (ema != null) ema.loadStateDict(e, h.emaUpdates());
        return h.state();
    }

    /** Model keys checked as Module.loadStateDict(strict) does, without its write. */
    private static List<String> checkModel(Module model, Map<String, Tensor> source) {
        List<String> errors = new ArrayList<>(), missing = new ArrayList<>(), unexpected = new ArrayList<>();
        Map<String, Tensor> own = model.stateDict();
        own.forEach((k, t) -> {
            Tensor src = source.get(k);
            if (src == null) missing.add(MODEL + k);
            else if (!src.sameShape(t)) errors.add(MODEL + k + ": expected shape " + t.shapeString() + ", got " + src.shapeString());
        });
        for (String k : source.keySet()) if (!own.containsKey(k)) unexpected.add(MODEL + k);
        if (!missing.isEmpty()) errors.add("missing: " + abbreviate(missing));
        if (!unexpected.isEmpty()) errors.add("unexpected (not in the model): " + abbreviate(unexpected));
        return errors;
    }

    /** The validator's complaints, one per line, with each key given its prefix in the file. */
    private static List<String> prefixed(String prefix, Runnable validate) {
        try {
            validate.run();
            return List.of();
        } catch (IllegalArgumentException ex) {
            List<String> out = new ArrayList<>();
            String[] lines = ex.getMessage().split("\n");
            for (int i = 1; i < lines.length; i++) {
                String l = lines[i].strip();
                out.add(l.startsWith("and ") ? l : prefix + l);
            }
            if (out.isEmpty()) out.add(ex.getMessage());
            return out;
        }
    }

    private static Header header(Path file, SafeTensors.Contents c) throws WeightsFormatException {
        String json = c.metadata().get(METADATA_KEY);
        if (json == null) throw new WeightsFormatException(file + ": no \"" + METADATA_KEY + "\" metadata: not a resnet4j checkpoint");
        Map<String, Object> o;
        try {
            Object root = Json.parse(json);
            if (!(root instanceof Map)) throw new WeightsFormatException(file + ": checkpoint metadata is not a JSON object");
            o = asObject(root);
        } catch (JsonException ex) {
            throw new WeightsFormatException(file + ": checkpoint metadata is not valid JSON: " + ex.getMessage(), ex);
        }
        Field f = new Field(file);
        String format = f.string(o, "format", false);
        if (!FORMAT.equals(format)) throw new WeightsFormatException(file + ": metadata format is '" + format + "', expected '" + FORMAT + "'");
        long version = f.integer(o, "version");
        if (version != VERSION) throw new WeightsFormatException(file + ": checkpoint format version " + version + ", this build reads " + VERSION);
        long epoch = f.integer(o, "epoch"), iteration = f.integer(o, "iteration");
        Object best = f.get(o, "best_metric");
        double bestMetric;
        if (best == null) bestMetric = Double.NaN;
        else if (best instanceof Number n) bestMetric = n.doubleValue();
        else throw f.bad("best_metric", best);
        if (!(f.get(o, "rng_state") instanceof List<?> rng)) throw f.bad("rng_state", o.get("rng_state"));
        long[] rngState = new long[rng.size()];
        for (int i = 0; i < rngState.length; i++) rngState[i] = f.integerValue("rng_state[" + i + "]", rng.get(i), Long.MIN_VALUE);
        Map<String, Object> config = f.map(o, "config"), schedule = f.map(o, "schedule");
        String optimizer = f.string(o, "optimizer", true);
        Object ema = f.get(o, "ema");
        Long emaUpdates = null;
        if (ema != null) {
            if (!(ema instanceof Map)) throw f.bad("ema", ema);
            emaUpdates = f.integer(asObject(ema), "updates");
        }
        TrainState state;
        try {
            state = new TrainState(epoch, iteration, bestMetric, config, rngState, schedule);
        } catch (IllegalArgumentException ex) {
            throw new WeightsFormatException(file + ": " + ex.getMessage(), ex);
        }
        return new Header(state, optimizer, emaUpdates);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asObject(Object jsonObject) {
        return (Map<String, Object>) jsonObject;
    }

    /** Typed access to the metadata's fields, every error naming the file and the field. */
    private record Field(Path file) {
        Object get(Map<String, Object> in, String name) throws WeightsFormatException {
            if (!in.containsKey(name)) throw new WeightsFormatException(file + ": checkpoint metadata has no \"" + name + "\"");
            return in.get(name);
        }

        String string(Map<String, Object> in, String name, boolean nullable) throws WeightsFormatException {
            Object e = get(in, name);
            if (nullable && e == null) return null;
            if (!(e instanceof String s)) throw bad(name, e);
            return s;
        }

        long integer(Map<String, Object> in, String name) throws WeightsFormatException {
            return integerValue(name, get(in, name), 0);
        }

        long integerValue(String name, Object e, long min) throws WeightsFormatException {
            long v;
            if (e instanceof Long l) v = l;
            else if (e instanceof Double d && d == Math.rint(d) && Math.abs(d) < 0x1p63) v = d.longValue(); // 3.0, not 1.5
            else throw bad(name, e);
            if (v < min) throw bad(name, e);
            return v;
        }

        Map<String, Object> map(Map<String, Object> in, String name) throws WeightsFormatException {
            Object e = get(in, name);
            if (!(e instanceof Map)) throw bad(name, e);
            return asObject(e);
        }

        WeightsFormatException bad(String name, Object e) {
            String s = e instanceof String str ? "\"" + str + "\"" : e == null ? "null" : Json.write(e);
            return new WeightsFormatException(file + ": checkpoint metadata \"" + name + "\" has an invalid value "
                    + (s.length() > 80 ? s.substring(0, 80) + "..." : s));
        }
    }

    private static String abbreviate(List<String> keys) {
        return keys.size() <= 12 ? keys.toString() : keys.subList(0, 12) + " and " + (keys.size() - 12) + " more";
    }
}
