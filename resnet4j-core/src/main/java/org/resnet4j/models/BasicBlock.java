package org.resnet4j.models;

import org.resnet4j.autograd.Variable;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Fusion;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.ReLU;

/**
 * The basic residual block of He et al. 2015 (Fig. 2 left): two 3x3 convs,
 * y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)). Expansion 1. The stride sits on conv1;
 * the shortcut is the identity or the given downsample (1x1 conv + BN projection, option B).
 *
 * <p>The public constructor is torchvision's BasicBlock, which refuses dilation > 1. Dense
 * prediction trunks ({@link ResNet#forDensePrediction}) build the atrous form through
 * {@link #atrous}: when a stage trades its stride for dilation (Chen et al. 2017, DeepLabV3
 * section 3.1), the conv that held the stride keeps the previous dilation and the conv after it
 * samples at the stage's new rate, as torchvision dilates its Bottleneck's 3x3 on a stage's first
 * block, so the field of view matches the strided network's. Dilation changes no shape and no
 * member, so an ImageNet state_dict loads into either form.
 */
public final class BasicBlock extends Module {
    public static final int EXPANSION = 1;
    final Conv2d conv1, conv2;
    final BatchNorm2d bn1, bn2;
    private final ReLU relu;
    private final Module downsample;

    public BasicBlock(int inplanes, int planes, int stride, Module downsample, int groups, int baseWidth, int dilation) {
        if (groups != 1 || baseWidth != 64) {
            throw new IllegalArgumentException("BasicBlock only supports groups=1 and base width 64 (as torchvision)");
        }
        if (dilation > 1) throw new IllegalArgumentException("dilation > 1 is not supported in BasicBlock (as torchvision)");
        this(inplanes, planes, stride, downsample, 1, 1);
    }

    private BasicBlock(int inplanes, int planes, int stride, Module downsample, int dilation1, int dilation2) {
        conv1 = register("conv1", new Conv2d(inplanes, planes, 3, stride, dilation1, dilation1, 1, false));
        bn1 = register("bn1", new BatchNorm2d(planes));
        relu = register("relu", new ReLU());
        conv2 = register("conv2", new Conv2d(planes, planes, 3, 1, dilation2, dilation2, 1, false));
        bn2 = register("bn2", new BatchNorm2d(planes));
        this.downsample = downsample == null ? null : register("downsample", downsample);
    }

    /**
     * The atrous block: conv1 (which holds the stride) at {@code dilation1}, conv2 at
     * {@code dilation2}; padding equals dilation, so a 3x3 keeps the map's size.
     */
    static BasicBlock atrous(int inplanes, int planes, int stride, Module downsample, int dilation1, int dilation2) {
        if (dilation1 < 1 || dilation2 < 1) {
            throw new IllegalArgumentException("dilation must be >= 1, got " + dilation1 + ", " + dilation2);
        }
        return new BasicBlock(inplanes, planes, stride, downsample, dilation1, dilation2);
    }

    /** The last BN of the residual branch (zero-initialised by zeroInitResidual). */
    BatchNorm2d lastBn() {
        return bn2;
    }

    @Override
    public Variable forward(Variable x) {
        if (Fusion.active(this)) { // eval, no graph: BN folded, add and ReLU in the conv epilogue
            // the inner outputs go back to an open inference pool as soon as they are read
            Variable identity = downsample == null ? x : Fusion.shortcut(downsample, x);
            Variable t1 = Fusion.convBn(conv1, bn1, x, null, true);
            Variable out = Fusion.convBn(conv2, bn2, t1, identity, true);
            Fusion.release(t1, out);
            if (downsample != null) Fusion.release(identity, out);
            return out;
        }
        Variable out = Fusion.bnRelu(bn1, relu, conv1.call(x));
        out = bn2.call(Fusion.convReleasingInput(conv2, out));
        Variable identity = downsample == null ? x : downsample.call(x);
        return Fusion.addRelu(relu, out, identity, downsample != null);
    }

    @Override
    public String describe() {
        int d1 = conv1.dilation, d2 = conv2.dilation;
        return d1 == 1 && d2 == 1 ? super.describe() : "BasicBlock(dilation=" + d1 + "," + d2 + ")";
    }
}
