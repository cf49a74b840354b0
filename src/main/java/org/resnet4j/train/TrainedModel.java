package org.resnet4j.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.resnet4j.io.SafeTensors;
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
        int inChannels = ((Number) channels).intValue(), imageSize = ((Number) size).intValue();
        Module model = Models.create(c.model, ModelConfig.defaults(names.size()).withInChannels(inChannels)
                .withDropout((float) c.dropout));
        LinkedHashMap<String, Tensor> weights = new LinkedHashMap<>(), ema = new LinkedHashMap<>();
        contents.tensors().forEach((k, v) -> {
            if (k.startsWith(Checkpoint.MODEL)) weights.put(k.substring(Checkpoint.MODEL.length()), v);
            if (k.startsWith(Checkpoint.EMA)) ema.put(k.substring(Checkpoint.EMA.length()), v);
        });
        try {
            model.loadStateDict(ema.isEmpty() ? weights : ema, true);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(checkpoint + ": " + e.getMessage());
        }
        model.eval();
        return new TrainedModel(model, c, (List<String>) names, inChannels, imageSize, !ema.isEmpty());
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
