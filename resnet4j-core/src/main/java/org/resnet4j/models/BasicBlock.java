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
        conv1 = register("conv1", new Conv2d(inplanes, planes, 3, stride, 1));
        bn1 = register("bn1", new BatchNorm2d(planes));
        relu = register("relu", new ReLU());
        conv2 = register("conv2", new Conv2d(planes, planes, 3, 1, 1));
        bn2 = register("bn2", new BatchNorm2d(planes));
        this.downsample = downsample == null ? null : register("downsample", downsample);
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
}
