package org.resnet4j.train;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.resnet4j.io.json.Json;
import org.resnet4j.io.json.JsonException;

/**
 * Every knob of a training run, with the defaults of He et al. 2015 (SGD, lr 0.1, momentum 0.9,
 * batch 128) and cosine decay. Read from and written to JSON (the command line also reads YAML) with the same field names;
 * a checkpoint stores it so a resumed run continues with the same recipe.
 */
public final class TrainConfig {
    /** classification | segmentation (see {@link Task}). */
    public String task = "classification";
    public String model = "resnet20";
    /** shapes | fashion-mnist | mnist | cifar10 | cifar100 | a directory (ImageFolder with train/ and val/); segmentation: scenes | voc:DIR. */
    public String data = "shapes";
    public String dataDir;
    public int epochs = 30;
    public int batchSize = 128;
    public String optimizer = "sgd";
    public double lr = 0.1;
    public double momentum = 0.9;
    public boolean nesterov = false;
    /** null: 5e-4 for CIFAR-size nets (common practice; He et al. 2015 used 1e-4), 1e-4 otherwise (the ImageNet value). */
    public Double weightDecay;
    public boolean noDecayOnBnAndBias = false;
    /** constant | cosine | step:EPOCHS:GAMMA | multistep:E1,E2:GAMMA | onecycle (see LrSchedules). */
    public String schedule = "cosine";
    public double warmupEpochs = 0;
    public double labelSmoothing = 0;
    public double clipNorm = 0;
    public double clipValue = 0;
    public double dropout = 0;
    /** EMA decay of the weights used for evaluation; 0 turns it off. */
    public double ema = 0;
    /** standard (random crop + flip) or none. */
    public String augment = "standard";
    public double mixup = 0;
    public double cutmix = 0;
    public double randomErasing = 0;
    public boolean zeroInitResidual = false;
    /** Segmentation: also train the auxiliary FCN head on layer3, its loss weighted 0.5 (torchvision's --aux-loss). */
    public boolean auxLoss = false;
    /** Use K training examples drawn at random, seeded (0: all). */
    public int trainSubset = 0;
    /** Use K test examples drawn at random, seeded (0: all). */
    public int testSubset = 0;
    /** Keep only these classes (names or 0-based indices), relabelled 0..k-1 in the order given; empty: all. */
    public List<String> classes = new ArrayList<>();
    /** Synthetic shapes (and segmentation's scenes): number of generated training and test images. */
    public int shapesTrain = 12000;
    public int shapesTest = 2000;
    /** Images whose header declares more pixels are refused before decoding (PIL's MAX_IMAGE_PIXELS). */
    public long maxImagePixels = org.resnet4j.data.ImageDecoder.DEFAULT_MAX_PIXELS;
    /** ImageFolder: training crop size; segmentation: the base size (scenes' side, the shorter side to resize to, the crop). */
    public int imageSize = 224;
    /** Transfer learning: a .pth or .safetensors state_dict to start from (the head is replaced when its shape differs). */
    public String weights;
    /** Re-initialize the classifier even when the loaded one has the right shape (new classes of the same count). */
    public boolean newHead = false;
    /** Parameter-name prefixes to freeze, e.g. conv1, bn1, layer1. */
    public List<String> freeze = new ArrayList<>();
    /** Keep every BatchNorm on its loaded running statistics (FrozenBatchNorm2d). */
    public boolean freezeBn = false;
    /** Learning-rate multiplier of the classifier head (discriminative fine-tuning). */
    public double headLrScale = 1;
    /** Epoch (1-based) at which the frozen prefixes start training (0: never). */
    public int unfreezeAtEpoch = 0;
    /** Also write iterations.csv: the loss and error of every training batch (for figures like the paper's Fig. 6). */
    public boolean logIterations = false;
    public long seed = 0;
    public int threads = Runtime.getRuntime().availableProcessors();
    public int workers = 2;
    public String runsDir = "runs";
    /** Run name: the folder under runsDir (default: model-data). */
    public String name;
    public int keepLast = 2;
    public boolean resume = false;

    public String runName() {
        if (name != null && !name.isBlank()) return name;
        String d = Path.of(data).getFileName().toString();
        return model + "-" + d;
    }

    public Path runDir() {
        return Path.of(runsDir, runName());
    }

    /** Pretty-printed JSON of every field, in declaration order (the run directory's config.json). */
    public String toJson() {
        return Json.writePretty(toMap());
    }

    /** Every field by name, in declaration order: strings, boxed numbers, booleans, lists, nulls. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        for (Field f : FIELDS.values()) {
            try {
                Object v = f.get(this);
                m.put(f.getName(), v instanceof List<?> l ? new ArrayList<>(l) : v);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }
        return m;
    }

    /** A config from a map of field names to values (as {@link #toMap} writes, or a parsed JSON or YAML file). */
    public static TrainConfig fromMap(Map<String, ?> map) {
        return fromMap(map, "config");
    }

    /**
     * As {@link #fromMap(Map)}, with {@code where} (a file name) leading every error. Unknown keys
     * and values of the wrong type are refused, naming the key; missing keys keep their defaults.
     */
    public static TrainConfig fromMap(Map<String, ?> map, String where) {
        TrainConfig c = new TrainConfig();
        for (var e : map.entrySet()) {
            Field f = FIELDS.get(e.getKey());
            if (f == null) throw new IllegalArgumentException(where + ": unknown key '" + e.getKey() + "'; known keys: " + FIELDS.keySet());
            try {
                f.set(c, convert(e.getValue(), f));
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(where + ": key '" + e.getKey() + "': " + ex.getMessage());
            } catch (IllegalAccessException ex) {
                throw new IllegalStateException(ex);
            }
        }
        return c;
    }

    /**
     * Reads a JSON config file; unknown keys are an error naming the key and the file. YAML files
     * are read by the command line (resnet4j-cli), which parses them and calls {@link #fromMap(Map, String)}:
     * the core library depends on no YAML parser.
     */
    public static TrainConfig read(Path file) throws IOException {
        String name = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        if (name.endsWith(".yaml") || name.endsWith(".yml")) {
            throw new IllegalArgumentException(file + ": YAML configs are read by the resnet4j command line; the library reads JSON");
        }
        Object tree;
        try {
            tree = Json.parse(Files.readString(file));
        } catch (JsonException e) {
            throw new IllegalArgumentException(file + ": not valid JSON: " + e.getMessage());
        }
        if (!(tree instanceof Map<?, ?> m)) throw new IllegalArgumentException(file + ": the config must be a mapping of keys to values");
        @SuppressWarnings("unchecked") Map<String, ?> map = (Map<String, ?>) m;
        return fromMap(map, file.toString());
    }

    /** The public instance fields, by name, in declaration order. */
    private static final Map<String, Field> FIELDS = new LinkedHashMap<>();
    static {
        for (Field f : TrainConfig.class.getDeclaredFields()) {
            int mod = f.getModifiers();
            if (Modifier.isPublic(mod) && !Modifier.isStatic(mod)) FIELDS.put(f.getName(), f);
        }
    }

    private static Object convert(Object v, Field f) {
        Class<?> t = f.getType();
        if (v == null) {
            if (t.isPrimitive()) throw new IllegalArgumentException("null for a " + t.getName());
            return t == List.class ? new ArrayList<String>() : null;
        }
        if (t == String.class) {
            if (v instanceof String || v instanceof Number || v instanceof Boolean) return v.toString();
        } else if (t == int.class || t == long.class) {
            if (v instanceof Number n && isIntegral(n)) {
                long l = n.longValue();
                if (t == long.class) return l;
                if (l == (int) l) return (int) l;
                throw new IllegalArgumentException(v + " does not fit an int");
            }
        } else if (t == double.class || t == Double.class) {
            if (v instanceof Number n) return n.doubleValue();
        } else if (t == boolean.class) {
            if (v instanceof Boolean) return v;
        } else if (t == List.class) {
            if (v instanceof List<?> l) {
                List<String> out = new ArrayList<>();
                for (Object o : l) out.add(String.valueOf(o));
                return out;
            }
        } else {
            throw new IllegalStateException("TrainConfig field " + f.getName() + " has an unsupported type " + t);
        }
        throw new IllegalArgumentException("expected " + (t == List.class ? "a list" : t.getSimpleName()) + ", got " + Json.kind(v) + " (" + v + ")");
    }

    private static boolean isIntegral(Number n) {
        if (n instanceof Long || n instanceof Integer || n instanceof Short || n instanceof Byte) return true;
        double d = n.doubleValue();
        return d == Math.rint(d) && Math.abs(d) < 0x1p63;
    }

    /** Checks values before a run starts, naming the field at fault. */
    public void validate() {
        if (epochs < 1) throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
        if (batchSize < 1) throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
        if (!(lr > 0)) throw new IllegalArgumentException("lr must be > 0, got " + lr);
        if (labelSmoothing < 0 || labelSmoothing >= 1) throw new IllegalArgumentException("labelSmoothing must be in [0, 1), got " + labelSmoothing);
        if (ema < 0 || ema >= 1) throw new IllegalArgumentException("ema decay must be in [0, 1), got " + ema);
        if (!optimizer.equals("sgd") && !optimizer.equals("adamw")) throw new IllegalArgumentException("optimizer must be sgd or adamw, got " + optimizer);
        if (!augment.equals("standard") && !augment.equals("none")) throw new IllegalArgumentException("augment must be standard or none, got " + augment);
        if (threads < 1 || workers < 0) throw new IllegalArgumentException("threads must be >= 1 and workers >= 0");
        if (maxImagePixels < 1) throw new IllegalArgumentException("maxImagePixels must be >= 1, got " + maxImagePixels);
        if (keepLast < 1) throw new IllegalArgumentException("keepLast must be >= 1, got " + keepLast);
    }
}
