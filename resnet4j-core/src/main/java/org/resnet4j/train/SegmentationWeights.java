package org.resnet4j.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.resnet4j.segmentation.SegmentationModel;
import org.resnet4j.segmentation.SegmentationModels;
import org.resnet4j.tensor.Tensor;

/**
 * Weights into a segmentation model from a file ({@code .pth} through the restricted unpickler,
 * {@code .safetensors}, or a resnet4j checkpoint: {@link Transfer#readStateDict}), by
 * torchvision's names. Every key and shape is checked before anything is written, so a file that
 * does not fit leaves the model as it was.
 */
public final class SegmentationWeights {
    private SegmentationWeights() {}

    /**
     * A whole segmentation state_dict ({@code backbone.*}, {@code classifier.*},
     * {@code aux_classifier.*}), as torchvision's {@code fcn_resnet50(weights=...)} loads it. The
     * published checkpoints carry the auxiliary head; a model built without it ignores those keys
     * (and only those), as torchvision's model without aux_loss would not use them.
     */
    public static void load(SegmentationModel model, Path file) throws IOException {
        LinkedHashMap<String, Tensor> src = Transfer.readStateDict(file);
        if (!model.hasAux()) src.keySet().removeIf(k -> k.startsWith("aux_classifier."));
        try {
            model.loadStateDict(src, true);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage());
        }
    }

    /**
     * The model {@code name} built to fit a segmentation state_dict, then loaded from it: the class
     * count from the classifier's last conv ({@code classifier.4.weight [classes, C, 1, 1]}, in
     * FCNHead and DeepLabHead alike), the auxiliary head when the weights carry one. {@code file}
     * names the source in errors; a state_dict of another kind (a classifier's) is refused naming
     * the key it lacks.
     */
    public static SegmentationModel forStateDict(String name, Map<String, Tensor> state, Path file) {
        SegmentationModels.Entry entry = SegmentationModels.get(name);
        Tensor last = state.get("classifier.4.weight");
        if (last == null || last.rank() != 4) {
            throw new IllegalArgumentException(file + ": no classifier.4.weight [classes, C, 1, 1], so not a " + entry.family()
                    + " segmentation state_dict (keys: " + String.join(", ", state.keySet().stream().limit(4).toList()) + ", ...)");
        }
        SegmentationModel m = entry.create(new SegmentationModels.Config(last.dim(0), state.containsKey("aux_classifier.4.weight"), 3));
        try {
            m.loadStateDict(state, true);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage());
        }
        return m;
    }

    /**
     * An ImageNet classification ResNet's state_dict (torchvision's {@code resnet50} keys:
     * {@code conv1.weight}, {@code layer1.0.conv1.weight}, ..., {@code fc.*}) into the backbone,
     * where the keys gain the {@code backbone.} prefix; the classifier ({@code fc.*}) is dropped,
     * as IntermediateLayerGetter drops it, and the heads keep their initialization. This is how
     * torchvision starts segmentation training (weights_backbone). Dilation changes no shape, so
     * the stride-32 checkpoint fits the dilated trunk.
     */
    public static void loadImageNetBackbone(SegmentationModel model, Path file) throws IOException {
        LinkedHashMap<String, Tensor> src = Transfer.readStateDict(file);
        List<String> prefixed = new ArrayList<>();
        for (String k : src.keySet()) if (k.startsWith("backbone.")) prefixed.add(k);
        if (!prefixed.isEmpty()) {
            throw new IllegalArgumentException(file + ": holds segmentation keys (" + prefixed.get(0) + ", ...), not a classification"
                    + " ResNet's; load it with SegmentationWeights.load");
        }
        src.keySet().removeIf(k -> k.startsWith(Transfer.HEAD + "."));
        try {
            model.backbone().loadStateDict(src, true);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": as the backbone of " + model.describe() + ": " + e.getMessage());
        }
    }
}
