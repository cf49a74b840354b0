package org.resnet4j.models;

import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.ReshapeOp;
import org.resnet4j.nn.AdaptiveAvgPool2d;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Fusion;
import org.resnet4j.nn.Dropout;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.Linear;
import org.resnet4j.nn.MaxPool2d;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.ReLU;
import org.resnet4j.nn.Sequential;

/**
 * The ImageNet ResNet family in torchvision's layout (models/resnet.py, "v1.5"): a 7x7/2 stem,
 * 3x3/2 max pool, four stages of blocks at 64/128/256/512 planes (x expansion), global average
 * pooling and a linear classifier. {@link #makeLayer} puts the stride (or, with
 * replaceStrideWithDilation, the dilation) on each stage's first block, as torchvision's _make_layer.
 * {@link #forDensePrediction} builds the same network as the trunk of a segmentation model, whose
 * {@link IntermediateLayerGetter} keeps conv1..layer4.
 */
public final class ResNet extends Module {
    /** A residual block kind and its channel expansion. */
    public enum Block {
        BASIC(BasicBlock.EXPANSION), BOTTLENECK(Bottleneck.EXPANSION);

        public final int expansion;

        Block(int expansion) {
            this.expansion = expansion;
        }
    }

    private final Block block;
    /** Whether basic blocks may be dilated ({@link #forDensePrediction}); torchvision's refuse. */
    private final boolean atrousBasic;
    private final int groups, baseWidth;
    private int inplanes, dilation = 1;
    private final Conv2d conv1;
    private final BatchNorm2d bn1;
    private final ReLU relu;
    private final MaxPool2d maxpool;
    private final Sequential layer1, layer2, layer3, layer4;
    private final AdaptiveAvgPool2d avgpool;
    private final Dropout dropout;
    private Linear fc;

    /** resnet50 = new ResNet(BOTTLENECK, [3, 4, 6, 3], 1, 64, config). */
    public ResNet(Block block, int[] layers, int groups, int widthPerGroup, ModelConfig c) {
        this(block, layers, groups, widthPerGroup, c, false, 64);
    }

    /**
     * The trunk of a dense-prediction model (segmentation): {@code new ResNet(block, layers, 1, 64,
     * c)}, except that with {@code c.replaceStrideWithDilation()} basic blocks are dilated too
     * ({@link BasicBlock#atrous}) where torchvision's BasicBlock refuses, so resnet18/34 can keep
     * output stride 8. Bottleneck trunks are exactly torchvision's.
     */
    public static ResNet forDensePrediction(Block block, int[] layers, ModelConfig c) {
        return new ResNet(block, layers, 1, 64, c, true, 64);
    }

    /**
     * torchvision's layout at another width: stem and stages at {@code width}, 2, 4 and 8 times
     * it (x expansion) instead of 64/128/256/512, everything else as {@link #ResNet(Block, int[],
     * int, int, ModelConfig)}; width 64 is torchvision's network. For detectors on small images,
     * where the full widths cost far more than the few classes need.
     */
    public static ResNet narrow(Block block, int[] layers, int width, ModelConfig c) {
        if (width < 1) throw new IllegalArgumentException("ResNet width must be >= 1, got " + width);
        return new ResNet(block, layers, 1, 64, c, false, width);
    }

    private ResNet(Block block, int[] layers, int groups, int widthPerGroup, ModelConfig c, boolean atrousBasic, int width) {
        if (layers.length != 4) throw new IllegalArgumentException("ResNet needs 4 stage depths, got " + layers.length);
        this.block = block;
        this.atrousBasic = atrousBasic;
        this.groups = groups;
        this.baseWidth = widthPerGroup;
        this.inplanes = width;
        boolean[] dil = c.replaceStrideWithDilation();
        conv1 = register("conv1", new Conv2d(c.inChannels(), width, 7, 2, 3));
        bn1 = register("bn1", new BatchNorm2d(width));
        relu = register("relu", new ReLU());
        maxpool = register("maxpool", new MaxPool2d(3, 2, 1));
        layer1 = register("layer1", makeLayer(width, layers[0], 1, false));
        layer2 = register("layer2", makeLayer(2 * width, layers[1], 2, dil[0]));
        layer3 = register("layer3", makeLayer(4 * width, layers[2], 2, dil[1]));
        layer4 = register("layer4", makeLayer(8 * width, layers[3], 2, dil[2]));
        avgpool = register("avgpool", new AdaptiveAvgPool2d(1, 1));
        dropout = c.dropout() > 0 ? register("dropout", new Dropout(c.dropout())) : null;
        fc = register("fc", new Linear(8 * width * block.expansion, c.numClasses()));
        initWeights(this, c.zeroInitResidual());
    }

    private Sequential makeLayer(int planes, int blocks, int stride, boolean dilate) {
        int previousDilation = dilation;
        if (dilate) {
            dilation *= stride;
            stride = 1;
        }
        Module downsample = null;
        if (stride != 1 || inplanes != planes * block.expansion) {
            downsample = new Sequential(new Conv2d(inplanes, planes * block.expansion, 1, stride, 0),
                    new BatchNorm2d(planes * block.expansion));
        }
        Sequential layer = new Sequential(createBlock(planes, stride, downsample, previousDilation));
        inplanes = planes * block.expansion;
        for (int i = 1; i < blocks; i++) layer.add(createBlock(planes, 1, null, dilation));
        return layer;
    }

    /**
     * A block at {@code inplanes}; {@code blockDilation} is torchvision's dilation argument (the
     * previous dilation on a stage's first block, where the stride would sit). An atrous basic
     * block's conv2 takes the stage's dilation, which is already in {@link #dilation}.
     */
    private Module createBlock(int planes, int stride, Module downsample, int blockDilation) {
        if (block == Block.BOTTLENECK) return new Bottleneck(inplanes, planes, stride, downsample, groups, baseWidth, blockDilation);
        if (atrousBasic) return BasicBlock.atrous(inplanes, planes, stride, downsample, blockDilation, dilation);
        return new BasicBlock(inplanes, planes, stride, downsample, groups, baseWidth, blockDilation);
    }

    /**
     * torchvision's init: Kaiming-normal (fan_out, ReLU) convs, BN gamma 1 and beta 0, and with
     * zeroInitResidual the last BN of each residual branch starts at gamma 0, so each block starts
     * as the identity (Goyal et al. 2017, "Accurate, Large Minibatch SGD").
     */
    static void initWeights(Module model, boolean zeroInitResidual) {
        for (Module m : model.namedModules().values()) {
            if (m instanceof Conv2d conv) {
                Init.kaimingNormalFanOut(conv.weight.value());
            } else if (m instanceof BatchNorm2d bn) {
                bn.weight.value().fill(1f);
                bn.bias.value().fill(0f);
            }
        }
        if (zeroInitResidual) {
            for (Module m : model.namedModules().values()) {
                if (m instanceof BasicBlock b) b.lastBn().weight.value().fill(0f);
                if (m instanceof Bottleneck b) b.lastBn().weight.value().fill(0f);
            }
        }
    }

    /** Replaces the classifier with a fresh {@code Linear(features, numClasses)} (transfer learning). */
    public Linear replaceHead(int numClasses) {
        fc = new Linear(fc.in, numClasses);
        replace("fc", fc);
        return fc;
    }

    public Linear head() {
        return fc;
    }

    @Override
    public Variable forward(Variable x) {
        if (Fusion.active(this)) { // eval, no graph: each output goes back to an open inference pool once read
            Variable stem = Fusion.convBn(conv1, bn1, x, null, true);
            Variable y = maxpool.call(stem);
            Fusion.release(stem, y);
            y = Fusion.chain(y, layer1, layer2, layer3, layer4);
            x = ReshapeOp.flatten(avgpool.call(y));
            Fusion.release(y, x);
            return fc.call(dropout == null ? x : dropout.call(x));
        }
        x = maxpool.call(Fusion.bnRelu(bn1, relu, conv1.call(x)));
        x = layer4.call(layer3.call(layer2.call(layer1.call(x))));
        x = ReshapeOp.flatten(avgpool.call(x));
        return fc.call(dropout == null ? x : dropout.call(x));
    }
}
