package org.resnet4j.detection;

import java.util.LinkedHashMap;
import java.util.Map;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;

/**
 * Weights by name into an {@link Fcos} model from state_dicts read by the caller (a torchvision
 * {@code .pth} through {@code io.pth.Pth.read}, a {@code .safetensors} through
 * {@code io.safetensors.SafeTensors.read}): this package does not read files.
 *
 * <p>Both loaders check every key and shape before writing anything ({@link Module#loadStateDict}):
 * a missing, unexpected or mis-shaped key is an error that names it, and the model is left as it
 * was. {@code num_batches_tracked} is optional either way, as in PyTorch: torchvision's
 * FrozenBatchNorm2d drops it when loading (an ImageNet checkpoint has it, the frozen model does
 * not), and a BatchNorm2d model keeps its own count when a frozen model's state_dict lacks it.
 */
public final class FcosWeights {
    private FcosWeights() {}

    /** A torchvision FCOS state_dict ({@code backbone.body.*}, {@code backbone.fpn.*}, {@code head.*}) into the whole model. */
    public static void loadFcos(Fcos model, Map<String, Tensor> stateDict) {
        model.loadStateDict(withBatchCounts(model, stateDict), true);
    }

    /**
     * An ImageNet classification checkpoint of the body's ResNet (torchvision's
     * {@code resnet50-*.pth} keys: {@code conv1.weight}, {@code layer1.0.bn1.running_mean}, ...,
     * {@code fc.weight}) into {@code backbone.body}, as torchvision's {@code weights_backbone}: the
     * classifier ({@code fc.*}) is dropped, the pyramid and head keep their initialization.
     */
    public static void loadBackboneFromClassifier(Fcos model, Map<String, Tensor> stateDict) {
        LinkedHashMap<String, Tensor> body = new LinkedHashMap<>();
        for (var e : stateDict.entrySet()) if (!e.getKey().startsWith("fc.")) body.put(e.getKey(), e.getValue());
        Module target = model.backbone.body;
        target.loadStateDict(withBatchCounts(target, body), true);
    }

    /**
     * {@code source} less the num_batches_tracked keys {@code target} does not have, plus the
     * target's own count where the source has none: only real weights are then compared strictly.
     */
    private static LinkedHashMap<String, Tensor> withBatchCounts(Module target, Map<String, Tensor> source) {
        Map<String, Tensor> own = target.stateDict();
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        for (var e : source.entrySet()) {
            if (!(e.getKey().endsWith("num_batches_tracked") && !own.containsKey(e.getKey()))) out.put(e.getKey(), e.getValue());
        }
        for (var e : own.entrySet()) if (e.getKey().endsWith("num_batches_tracked")) out.putIfAbsent(e.getKey(), e.getValue());
        return out;
    }
}
