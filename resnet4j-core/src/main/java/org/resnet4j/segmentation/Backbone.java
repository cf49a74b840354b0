package org.resnet4j.segmentation;

import java.util.LinkedHashMap;
import org.resnet4j.autograd.Variable;
import org.resnet4j.models.IntermediateLayerGetter;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.ResNet;

/**
 * A ResNet trunk as torchvision's segmentation builders leave it: {@code
 * IntermediateLayerGetter(resnet, {"layer4": "out", "layer3": "aux"})}, the children of
 * models/resnet.py up to layer4 (conv1, bn1, relu, maxpool, layer1..layer4; no avgpool, no fc)
 * under the same names, so {@code backbone.layer1.0.conv1.weight} is a ResNet's
 * {@code layer1.0.conv1.weight}. Stages marked in {@code dilate} trade their stride for dilation,
 * as ResNet(replace_stride_with_dilation=...): with [False, True, True] the output stride is 8,
 * the dense-prediction setting of DeepLab (Chen et al. 2017, section 3.1) and torchvision's FCN.
 * The trunk is {@link ResNet#forDensePrediction}, so basic-block presets are atrous too; its stem
 * runs fused, as the ResNet's own forward runs it.
 */
public final class Backbone extends IntermediateLayerGetter {
    private final int outChannels;

    /**
     * @param bottleneck Bottleneck blocks (resnet50/101) or basic ones (resnet18/34)
     * @param layers     blocks per stage, e.g. [3, 4, 23, 3] for resnet101
     * @param dilate     for layer2..layer4: replace the stage's stride by dilation
     */
    public Backbone(boolean bottleneck, int[] layers, boolean[] dilate, int inChannels) {
        this(trunk(bottleneck, layers, dilate, inChannels));
    }

    private Backbone(ResNet trunk) {
        super(trunk, returnLayers(), true);
        outChannels = trunk.head().in;
    }

    private static ResNet trunk(boolean bottleneck, int[] layers, boolean[] dilate, int inChannels) {
        if (layers.length != 4 || dilate.length != 3) {
            throw new IllegalArgumentException("Backbone needs 4 stage depths and 3 dilation flags, got " + layers.length + " and " + dilate.length);
        }
        // torchvision builds resnet50() with its 1000-class fc, which the getter then drops
        ModelConfig c = ModelConfig.defaults(1000).withInChannels(inChannels).withDilation(dilate[0], dilate[1], dilate[2]);
        return ResNet.forDensePrediction(bottleneck ? ResNet.Block.BOTTLENECK : ResNet.Block.BASIC, layers, c);
    }

    private static LinkedHashMap<String, String> returnLayers() {
        LinkedHashMap<String, String> r = new LinkedHashMap<>();
        r.put("layer4", "out");
        r.put("layer3", "aux");
        return r;
    }

    /** Channels of layer4's output ("out"): 2048 with bottlenecks, 512 with basic blocks. */
    public int outChannels() {
        return outChannels;
    }

    /** Channels of layer3's output ("aux"): 1024 with bottlenecks, 256 with basic blocks. */
    public int auxChannels() {
        return outChannels / 2;
    }

    /** layer4's output, the "out" feature map. */
    @Override
    public Variable forward(Variable x) {
        return features(x, false).get("out");
    }

    /** IntermediateLayerGetter(return_layers={"layer4": "out", "layer3": "aux"}): "out", then "aux" if asked. */
    public LinkedHashMap<String, Variable> features(Variable x, boolean aux) {
        LinkedHashMap<String, Variable> out = forwardAll(x);
        if (!aux) out.remove("aux");
        return out;
    }
}
