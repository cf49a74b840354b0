package org.resnet4j.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Every knob of a training run, with the defaults of He et al. 2015 (SGD, lr 0.1, momentum 0.9,
 * batch 128) and cosine decay. Read from and written to JSON or YAML with the same field names;
 * a checkpoint stores it so a resumed run continues with the same recipe.
 */
public final class TrainConfig {
    public String model = "resnet20";
    /** shapes | fashion-mnist | mnist | cifar10 | cifar100 | a directory (ImageFolder with train/ and val/). */
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
    /** Use K training examples drawn at random, seeded (0: all). */
    public int trainSubset = 0;
    /** Use K test examples drawn at random, seeded (0: all). */
    public int testSubset = 0;
    /** Keep only these classes (names or 0-based indices), relabelled 0..k-1 in the order given; empty: all. */
    public java.util.List<String> classes = new java.util.ArrayList<>();
    /** Synthetic shapes only: number of generated training and test images. */
    public int shapesTrain = 12000;
    public int shapesTest = 2000;
    /** ImageFolder only: training crop size. */
    public int imageSize = 224;
    /** Transfer learning: a .pth or .safetensors state_dict to start from (the head is replaced when its shape differs). */
    public String weights;
    /** Re-initialize the classifier even when the loaded one has the right shape (new classes of the same count). */
    public boolean newHead = false;
    /** Parameter-name prefixes to freeze, e.g. conv1, bn1, layer1. */
    public java.util.List<String> freeze = new java.util.ArrayList<>();
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

    private static final Gson GSON = new GsonBuilder().serializeNulls().setPrettyPrinting().create();

    public String toJson() {
        return GSON.toJson(this);
    }

    @SuppressWarnings("unchecked")
    public Map<String, Object> toMap() {
        return GSON.fromJson(GSON.toJson(this), LinkedHashMap.class);
    }

    public static TrainConfig fromMap(Map<String, Object> map) {
        return fromJsonElement(GSON.toJsonTree(map), "config");
    }

    /** Reads a .json, .yaml or .yml file; unknown keys are an error naming the key and the file. */
    public static TrainConfig read(Path file) throws IOException {
        String text = Files.readString(file);
        String name = file.getFileName().toString().toLowerCase();
        Object tree;
        try {
            tree = name.endsWith(".yaml") || name.endsWith(".yml")
                    ? new Yaml(new SafeConstructor(new LoaderOptions())).load(text)
                    : GSON.fromJson(text, Object.class);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(file + ": not valid " + (name.endsWith(".json") ? "JSON" : "YAML/JSON") + ": " + e.getMessage());
        }
        if (!(tree instanceof Map)) throw new IllegalArgumentException(file + ": the config must be a mapping of keys to values");
        return fromJsonElement(GSON.toJsonTree(tree), file.toString());
    }

    private static TrainConfig fromJsonElement(JsonElement tree, String where) {
        JsonObject obj = tree.getAsJsonObject();
        JsonObject known = GSON.toJsonTree(new TrainConfig()).getAsJsonObject();
        for (String k : obj.keySet()) {
            if (!known.has(k)) throw new IllegalArgumentException(where + ": unknown key '" + k + "'; known keys: " + known.keySet());
        }
        try {
            return GSON.fromJson(obj, TrainConfig.class);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage());
        }
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
        if (keepLast < 1) throw new IllegalArgumentException("keepLast must be >= 1, got " + keepLast);
    }
}
