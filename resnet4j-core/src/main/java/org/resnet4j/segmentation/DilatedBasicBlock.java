package org.resnet4j.segmentation;

import org.resnet4j.autograd.Variable;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Fusion;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.ReLU;

/**
 * The basic residual block (He et al. 2015, Fig. 2 left) with atrous 3x3 convolutions, for the
 * resnet18/34 segmentation presets. torchvision's BasicBlock refuses dilation > 1, so this is
 * what it would be if it did not: when a stage trades its stride for dilation (Chen et al. 2017,
 * DeepLabV3 section 3.1), the conv that held the stride keeps the previous dilation ({@code d1},
 * as torchvision's Bottleneck gives its 3x3 conv on a stage's first block) and every conv after
 * it samples at the new rate ({@code d2}), so the field of view matches the strided network's.
 * Same members as BasicBlock (conv1, bn1, conv2, bn2, downsample), so an ImageNet resnet18/34
 * state_dict loads into it unchanged: dilation changes no shape.
 */
public final class DilatedBasicBlock extends Module {
    private final Conv2d conv1, conv2;
    private final BatchNorm2d bn1, bn2;
    private final ReLU relu;
    private final Module downsample;

    public DilatedBasicBlock(int inplanes, int planes, int stride, Module downsample, int d1, int d2) {
        if (d1 < 1 || d2 < 1) throw new IllegalArgumentException("dilation must be >= 1, got " + d1 + ", " + d2);
        conv1 = register("conv1", new Conv2d(inplanes, planes, 3, stride, d1, d1, 1, false));
        bn1 = register("bn1", new BatchNorm2d(planes));
        relu = register("relu", new ReLU());
        conv2 = register("conv2", new Conv2d(planes, planes, 3, 1, d2, d2, 1, false));
        bn2 = register("bn2", new BatchNorm2d(planes));
        this.downsample = downsample == null ? null : register("downsample", downsample);
    }

    @Override
    public Variable forward(Variable x) {
        if (Fusion.active(this)) { // eval, no graph: BN folded, add and ReLU in the conv epilogue
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
        return "DilatedBasicBlock(dilation=" + conv1.dilation + "," + conv2.dilation + ")";
    }
}
