package org.resnet4j.models;

import org.resnet4j.autograd.Variable;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Fusion;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.ReLU;

/**
 * The bottleneck block (He et al. 2015, Fig. 5 right): 1x1 reduce, 3x3, 1x1 expand (x4).
 * torchvision "v1.5": the stride is on the 3x3 conv. ResNeXt and Wide ResNet change only the
 * inner width = planes * baseWidth / 64 * groups, with a grouped 3x3.
 */
public final class Bottleneck extends Module {
    public static final int EXPANSION = 4;
    final Conv2d conv1, conv2, conv3;
    final BatchNorm2d bn1, bn2, bn3;
    private final ReLU relu;
    private final Module downsample;

    public Bottleneck(int inplanes, int planes, int stride, Module downsample, int groups, int baseWidth, int dilation) {
        int width = planes * baseWidth / 64 * groups;
        conv1 = register("conv1", new Conv2d(inplanes, width, 1, 1, 0));
        bn1 = register("bn1", new BatchNorm2d(width));
        conv2 = register("conv2", new Conv2d(width, width, 3, stride, dilation, dilation, groups, false));
        bn2 = register("bn2", new BatchNorm2d(width));
        conv3 = register("conv3", new Conv2d(width, planes * EXPANSION, 1, 1, 0));
        bn3 = register("bn3", new BatchNorm2d(planes * EXPANSION));
        relu = register("relu", new ReLU());
        this.downsample = downsample == null ? null : register("downsample", downsample);
    }

    BatchNorm2d lastBn() {
        return bn3;
    }

    @Override
    public Variable forward(Variable x) {
        if (Fusion.active(this)) { // eval, no graph: BN folded, add and ReLU in the conv epilogue
            // the inner outputs go back to an open inference pool as soon as they are read
            Variable identity = downsample == null ? x : Fusion.shortcut(downsample, x);
            Variable t1 = Fusion.convBn(conv1, bn1, x, null, true);
            Variable t2 = Fusion.convBn(conv2, bn2, t1, null, true);
            Fusion.release(t1, t2);
            Variable out = Fusion.convBn(conv3, bn3, t2, identity, true);
            Fusion.release(t2, out);
            if (downsample != null) Fusion.release(identity, out);
            return out;
        }
        Variable out = Fusion.bnRelu(bn1, relu, conv1.call(x));
        out = Fusion.bnRelu(bn2, relu, Fusion.convReleasingInput(conv2, out));
        out = bn3.call(Fusion.convReleasingInput(conv3, out));
        Variable identity = downsample == null ? x : downsample.call(x);
        return Fusion.addRelu(relu, out, identity, downsample != null);
    }
}
