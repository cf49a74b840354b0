package org.resnet4j.segmentation;

import java.util.LinkedHashMap;
import org.resnet4j.autograd.Variable;
import org.resnet4j.models.CifarResNet;
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
 *
 * <p>{@link #cifar} wraps a CIFAR ResNet (He et al. 2015, section 4.2: 16/32/64 channels, three
 * stages) instead: layer3 is "out" (64 channels) and layer2 "aux" (32). Its two strided stages
 * give output stride 4 with no dilation at all, finer than the ImageNet trunks' 8, which is
 * what small generated scenes (64 to 128 pixels) need, at a small fraction of their cost.
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
        this(trunk, returnLayers("layer4", "layer3"), trunk.head().in);
    }

    private Backbone(org.resnet4j.nn.Module trunk, LinkedHashMap<String, String> returnLayers, int outChannels) {
        super(trunk, returnLayers, true);
        this.outChannels = outChannels;
    }

    /**
     * The CIFAR ResNet of {@code depth} = 6n + 2 layers (20, 32, 56, ...) without avgpool and fc:
     * conv1, bn1, relu, layer1..layer3, with layer3 as "out" and layer2 as "aux". Option A
     * shortcuts (the paper's), so the trunk is the classifier's {@code resnetN} less its head.
     */
    public static Backbone cifar(int depth, int inChannels) {
        return cifar(depth, inChannels, false);
    }

    /**
     * The same with layer3 dilated instead of strided when {@code dilateLayer3}: output stride 2,
     * the same parameters (weights load either way), four times layer3's work. On 64-pixel scenes
     * output stride 4 leaves a 16x16 logit map whose bilinear upsampling cannot follow the thin
     * parts of a star or a ring: ideal logits (each class's area share per cell) upsampled that
     * way score 88.7 % mIoU on 500 generated scenes, 96.7 % from a 32x32 map (docs/RESULTS.md).
     */
    public static Backbone cifar(int depth, int inChannels, boolean dilateLayer3) {
        CifarResNet trunk = new CifarResNet(depth, false,
                ModelConfig.defaults(10).withInChannels(inChannels).withDilation(false, dilateLayer3, false));
        return new Backbone(trunk, returnLayers("layer3", "layer2"), 64);
    }

    private static ResNet trunk(boolean bottleneck, int[] layers, boolean[] dilate, int inChannels) {
        if (layers.length != 4 || dilate.length != 3) {
            throw new IllegalArgumentException("Backbone needs 4 stage depths and 3 dilation flags, got " + layers.length + " and " + dilate.length);
        }
        // torchvision builds resnet50() with its 1000-class fc, which the getter then drops
        ModelConfig c = ModelConfig.defaults(1000).withInChannels(inChannels).withDilation(dilate[0], dilate[1], dilate[2]);
        return ResNet.forDensePrediction(bottleneck ? ResNet.Block.BOTTLENECK : ResNet.Block.BASIC, layers, c);
    }

    private static LinkedHashMap<String, String> returnLayers(String out, String aux) {
        LinkedHashMap<String, String> r = new LinkedHashMap<>();
        r.put(out, "out");
        r.put(aux, "aux");
        return r;
    }

    /** Channels of the "out" map: 2048 with bottlenecks, 512 with basic blocks, 64 for a CIFAR trunk. */
    public int outChannels() {
        return outChannels;
    }

    /** Channels of the "aux" map: 1024 with bottlenecks, 256 with basic blocks, 32 for a CIFAR trunk. */
    public int auxChannels() {
        return outChannels / 2;
    }

    /** The "out" feature map (layer4's; a CIFAR trunk's layer3). */
    @Override
    public Variable forward(Variable x) {
        return features(x, false).get("out");
    }

    /** IntermediateLayerGetter(return_layers={"layer4": "out", "layer3": "aux"}) (a CIFAR trunk: layer3, layer2): "out", then "aux" if asked. */
    public LinkedHashMap<String, Variable> features(Variable x, boolean aux) {
        LinkedHashMap<String, Variable> out = forwardAll(x);
        if (!aux) out.remove("aux");
        return out;
    }
}
