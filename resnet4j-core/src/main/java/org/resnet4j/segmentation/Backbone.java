package org.resnet4j.segmentation;

import java.util.LinkedHashMap;
import org.resnet4j.autograd.Variable;
import org.resnet4j.models.BasicBlock;
import org.resnet4j.models.Bottleneck;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Fusion;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.MaxPool2d;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.ReLU;
import org.resnet4j.nn.Sequential;

/**
 * A ResNet trunk as torchvision's IntermediateLayerGetter leaves it: the children of
 * models/resnet.py up to layer4 (conv1, bn1, relu, maxpool, layer1..layer4; no avgpool, no fc),
 * under the same names, so {@code backbone.layer1.0.conv1.weight} is a ResNet's
 * {@code layer1.0.conv1.weight}. {@link #features} returns layer4's output as "out" and, when
 * asked, layer3's as "aux". Stages marked in {@code dilate} trade their stride for dilation, as
 * ResNet(replace_stride_with_dilation=...): with [False, True, True] the output stride is 8, the
 * dense-prediction setting of DeepLab (Chen et al. 2017, section 3.1) and torchvision's FCN.
 */
public final class Backbone extends Module {
    private final boolean bottleneck;
    private int inplanes = 64, dilation = 1;
    private final Conv2d conv1;
    private final BatchNorm2d bn1;
    private final ReLU relu;
    private final MaxPool2d maxpool;
    private final Sequential layer1, layer2, layer3, layer4;

    /**
     * @param bottleneck Bottleneck blocks (resnet50/101) or basic ones (resnet18/34)
     * @param layers     blocks per stage, e.g. [3, 4, 23, 3] for resnet101
     * @param dilate     for layer2..layer4: replace the stage's stride by dilation
     */
    public Backbone(boolean bottleneck, int[] layers, boolean[] dilate, int inChannels) {
        if (layers.length != 4 || dilate.length != 3) {
            throw new IllegalArgumentException("Backbone needs 4 stage depths and 3 dilation flags, got " + layers.length + " and " + dilate.length);
        }
        this.bottleneck = bottleneck;
        conv1 = register("conv1", new Conv2d(inChannels, 64, 7, 2, 3));
        bn1 = register("bn1", new BatchNorm2d(64));
        relu = register("relu", new ReLU());
        maxpool = register("maxpool", new MaxPool2d(3, 2, 1));
        layer1 = register("layer1", makeLayer(64, layers[0], 1, false));
        layer2 = register("layer2", makeLayer(128, layers[1], 2, dilate[0]));
        layer3 = register("layer3", makeLayer(256, layers[2], 2, dilate[1]));
        layer4 = register("layer4", makeLayer(512, layers[3], 2, dilate[2]));
        // torchvision's ResNet init: Kaiming-normal (fan_out) convs; BN starts at gamma 1, beta 0
        for (Module m : namedModules().values()) if (m instanceof Conv2d c) Init.kaimingNormalFanOut(c.weight.value());
    }

    /** Channels of layer4's output ("out"): 2048 with bottlenecks, 512 with basic blocks. */
    public int outChannels() {
        return 512 * expansion();
    }

    /** Channels of layer3's output ("aux"): 1024 with bottlenecks, 256 with basic blocks. */
    public int auxChannels() {
        return 256 * expansion();
    }

    private int expansion() {
        return bottleneck ? Bottleneck.EXPANSION : BasicBlock.EXPANSION;
    }

    /** torchvision's _make_layer: the stride, or with {@code dilate} the dilation, on the first block. */
    private Sequential makeLayer(int planes, int blocks, int stride, boolean dilate) {
        int previous = dilation;
        if (dilate) {
            dilation *= stride;
            stride = 1;
        }
        Module downsample = null;
        if (stride != 1 || inplanes != planes * expansion()) {
            downsample = new Sequential(new Conv2d(inplanes, planes * expansion(), 1, stride, 0), new BatchNorm2d(planes * expansion()));
        }
        Sequential layer = new Sequential(block(planes, stride, downsample, previous, dilation));
        inplanes = planes * expansion();
        for (int i = 1; i < blocks; i++) layer.add(block(planes, 1, null, dilation, dilation));
        return layer;
    }

    /** {@code d1}: dilation where the stride would sit; {@code d2}: the stage's dilation after it. */
    private Module block(int planes, int stride, Module downsample, int d1, int d2) {
        if (bottleneck) return new Bottleneck(inplanes, planes, stride, downsample, 1, 64, d1);
        if (d1 == 1 && d2 == 1) return new BasicBlock(inplanes, planes, stride, downsample, 1, 64, 1);
        return new DilatedBasicBlock(inplanes, planes, stride, downsample, d1, d2);
    }

    /** layer4's output, the "out" feature map. */
    @Override
    public Variable forward(Variable x) {
        return features(x, false).get("out");
    }

    /** IntermediateLayerGetter(return_layers={"layer4": "out", "layer3": "aux"}): "out", then "aux" if asked. */
    public LinkedHashMap<String, Variable> features(Variable x, boolean aux) {
        Variable stem = Fusion.active(this) ? Fusion.convBn(conv1, bn1, x, null, true) : Fusion.bnRelu(bn1, relu, conv1.call(x));
        Variable c3 = layer3.call(layer2.call(layer1.call(maxpool.call(stem))));
        LinkedHashMap<String, Variable> out = new LinkedHashMap<>();
        out.put("out", layer4.call(c3));
        if (aux) out.put("aux", c3);
        return out;
    }
}
