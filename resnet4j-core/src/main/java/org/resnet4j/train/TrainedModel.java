package org.resnet4j.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.io.WeightsFormatException;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;

/**
 * A model restored from a training checkpoint for evaluation or prediction, with what is needed
 * to feed it: its class names, input channels and the training image size. When the run kept an
 * exponential moving average of the weights, the averaged weights are the ones loaded (they are
 * the ones the run evaluated).
 */
public record TrainedModel(Module model, TrainConfig config, List<String> classes, int inChannels, int imageSize, boolean ema) {
    /** Keys the trainer adds to the checkpoint's config map beside TrainConfig's own fields. */
    static final String CLASSES = "_classes", IN_CHANNELS = "_inChannels", IMAGE_SIZE = "_imageSize";

    @SuppressWarnings("unchecked")
    public static TrainedModel load(Path checkpoint) throws IOException {
        SafeTensors.Contents contents = SafeTensors.read(checkpoint);
        Checkpoint.TrainState state = Checkpoint.readState(checkpoint);
        Map<String, Object> cfg = new LinkedHashMap<>(state.config());
        Object classes = cfg.remove(CLASSES), channels = cfg.remove(IN_CHANNELS), size = cfg.remove(IMAGE_SIZE);
        if (!(classes instanceof List<?> names) || channels == null || size == null) {
            throw new WeightsFormatException(checkpoint + ": not a resnet4j training checkpoint (no class names in its config)");
        }
        TrainConfig c = TrainConfig.fromMap(cfg);
        if (!c.task.equals("classification")) {
            throw new IllegalArgumentException(checkpoint + ": a " + c.task + " checkpoint of " + c.model
                    + ", not a classifier; its weights load as a state_dict (SegmentationWeights.load, resnet4j segment --weights)");
        }
        int inChannels = ((Number) channels).intValue(), imageSize = ((Number) size).intValue();
        Module model = Models.create(c.model, ModelConfig.defaults(names.size()).withInChannels(inChannels)
                .withDropout((float) c.dropout));
        try {
            model.loadStateDict(Checkpoint.evaluatedWeights(contents), true);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(checkpoint + ": " + e.getMessage());
        }
        model.eval();
        return new TrainedModel(model, c, (List<String>) names, inChannels, imageSize, Checkpoint.hasEma(contents));
    }

    /**
     * A model from a bare state_dict (.pth or .safetensors): classes and input channels follow
     * {@code fc.weight} and {@code conv1.weight}; loading is strict. Class names default to
     * ImageNet's for 1000 classes, else "class 0", "class 1", ...; the image size is the model's default.
     */
    public static TrainedModel fromWeights(String model, Path weights, List<String> classNames) throws IOException {
        Map<String, Tensor> state = Transfer.readStateDict(weights);
        Tensor fc = state.get("fc.weight"), stem = state.get("conv1.weight");
        int classes = fc != null ? fc.dim(0) : Models.get(model).defaultClasses();
        int channels = stem != null ? stem.dim(1) : 3;
        Module m = Models.create(model, ModelConfig.defaults(classes).withInChannels(channels));
        try {
            m.loadStateDict(state, true);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(weights + ": " + e.getMessage());
        }
        m.eval();
        List<String> names = classNames != null ? classNames : classes == 1000 ? org.resnet4j.data.Presets.imagenetClasses()
                : java.util.stream.IntStream.range(0, classes).mapToObj(i -> "class " + i).toList();
        if (names.size() != classes) throw new IllegalArgumentException(names.size() + " class names for " + classes + " classes");
        TrainConfig c = new TrainConfig();
        c.model = model;
        return new TrainedModel(m, c, names, channels, Models.get(model).defaultSize(), false);
    }

    /** The config map a checkpoint stores: the run's config plus class names, channels and image size. */
    static Map<String, Object> checkpointConfig(TrainConfig c, DataSources.Source src) {
        Map<String, Object> m = c.toMap();
        m.put(CLASSES, src.train().classes());
        m.put(IN_CHANNELS, src.channels());
        m.put(IMAGE_SIZE, src.size());
        return m;
    }
}
