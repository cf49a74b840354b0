package org.resnet4j.models;

import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.ReshapeOp;
import org.resnet4j.autograd.ops.ShortcutPadOp;
import org.resnet4j.nn.AdaptiveAvgPool2d;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Fusion;
import org.resnet4j.nn.Dropout;
import org.resnet4j.nn.Linear;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.ReLU;
import org.resnet4j.nn.Sequential;

/**
 * The CIFAR-10 networks of He et al. 2015, section 4.2: a 3x3 conv to 16 channels, then three
 * stages of n basic blocks at 16, 32 and 64 channels on 32x32, 16x16 and 8x8 maps, global
 * average pooling and a linear classifier — 6n + 2 layers (n = 3, 5, 7, 9, 18 gives 20 ... 110).
 * With {@code plain} the same stack has no shortcuts at all: the paper's "plain" baseline.
 */
public final class CifarResNet extends Module {
    private final Conv2d conv1;
    private final BatchNorm2d bn1;
    private final ReLU relu;
    private final Sequential layer1, layer2, layer3;
    private final AdaptiveAvgPool2d avgpool;
    private final Dropout dropout;
    private final Linear fc;

    public CifarResNet(int depth, boolean plain, ModelConfig c) {
        if (depth < 8 || (depth - 2) % 6 != 0) throw new IllegalArgumentException("CIFAR ResNet depth must be 6n+2, got " + depth);
        int n = (depth - 2) / 6;
        boolean[] dilate = c.replaceStrideWithDilation();
        if (dilate[2]) throw new IllegalArgumentException("a CIFAR ResNet has no layer4 to dilate");
        conv1 = register("conv1", new Conv2d(c.inChannels(), 16, 3, 1, 1));
        bn1 = register("bn1", new BatchNorm2d(16));
        relu = register("relu", new ReLU());
        layer1 = register("layer1", stage(16, 16, n, 1, 1, 1, plain, c.shortcut()));
        // replace_stride_with_dilation as torchvision's _make_layer: a dilated stage keeps its
        // first conv at the previous rate (where the stride was) and samples at twice it after
        int d2 = dilate[0] ? 2 : 1, d3 = d2 * (dilate[1] ? 2 : 1);
        layer2 = register("layer2", stage(16, 32, n, dilate[0] ? 1 : 2, 1, d2, plain, c.shortcut()));
        layer3 = register("layer3", stage(32, 64, n, dilate[1] ? 1 : 2, d2, d3, plain, c.shortcut()));
        avgpool = register("avgpool", new AdaptiveAvgPool2d(1, 1));
        dropout = c.dropout() > 0 ? register("dropout", new Dropout(c.dropout())) : null;
        fc = register("fc", new Linear(64, c.numClasses()));
        ResNet.initWeights(this, false);
        if (c.zeroInitResidual() && !plain) {
            for (Module m : namedModules().values()) if (m instanceof CifarBlock b) b.bn2.weight.value().fill(0f);
        }
    }

    /** A stage whose first block's conv1 samples at {@code previousDilation}, everything after at {@code dilation}. */
    private static Sequential stage(int in, int out, int blocks, int stride, int previousDilation, int dilation, boolean plain,
                                    ModelConfig.Shortcut shortcut) {
        Sequential s = new Sequential();
        for (int i = 0; i < blocks; i++) {
            s.add(new CifarBlock(i == 0 ? in : out, out, i == 0 ? stride : 1, i == 0 ? previousDilation : dilation, dilation,
                    plain, shortcut));
        }
        return s;
    }

    @Override
    public Variable forward(Variable x) {
        if (Fusion.active(this)) { // eval, no graph: each stage's outputs go back to an open inference pool once read
            Variable y = Fusion.chain(Fusion.convBn(conv1, bn1, x, null, true), layer1, layer2, layer3);
            x = ReshapeOp.flatten(avgpool.call(y));
            Fusion.release(y, x);
            return fc.call(x);
        }
        x = Fusion.bnRelu(bn1, relu, conv1.call(x));
        x = layer3.call(layer2.call(layer1.call(x)));
        x = ReshapeOp.flatten(avgpool.call(x));
        return fc.call(dropout == null ? x : dropout.call(x));
    }

    /** Two 3x3 convs; the shortcut is identity, option A (zero-pad), option B (projection) or, for plain nets, absent. */
    static final class CifarBlock extends Module {
        final Conv2d conv1, conv2;
        final BatchNorm2d bn1, bn2;
        private final ReLU relu;
        private final boolean plain;
        private final Module shortcut;

        CifarBlock(int in, int out, int stride, int dilation1, int dilation2, boolean plain, ModelConfig.Shortcut kind) {
            // padding = dilation keeps a 3x3's map size; at dilation 1 these are the paper's convs
            conv1 = register("conv1", new Conv2d(in, out, 3, stride, dilation1, dilation1, 1, false));
            bn1 = register("bn1", new BatchNorm2d(out));
            relu = register("relu", new ReLU());
            conv2 = register("conv2", new Conv2d(out, out, 3, 1, dilation2, dilation2, 1, false));
            bn2 = register("bn2", new BatchNorm2d(out));
            this.plain = plain;
            Module sc = null;
            if (!plain && (stride != 1 || in != out)) {
                sc = kind == ModelConfig.Shortcut.A
                        ? new PadShortcut(stride, (out - in) / 2, out - in - (out - in) / 2)
                        : new Sequential(new Conv2d(in, out, 1, stride, 0), new BatchNorm2d(out));
            }
            this.shortcut = sc == null ? null : register("shortcut", sc);
        }

        @Override
        public Variable forward(Variable x) {
            if (Fusion.active(this)) {
                Variable identity = plain ? null : shortcut == null ? x : Fusion.shortcut(shortcut, x);
                Variable t1 = Fusion.convBn(conv1, bn1, x, null, true);
                Variable out = Fusion.convBn(conv2, bn2, t1, identity, true);
                Fusion.release(t1, out); // back to an open inference pool
                if (identity != null && identity != x) Fusion.release(identity, out);
                return out;
            }
            Variable y = bn2.call(Fusion.convReleasingInput(conv2, Fusion.bnRelu(bn1, relu, conv1.call(x))));
            return plain ? relu.call(y) : Fusion.addRelu(relu, y, shortcut == null ? x : shortcut.call(x));
        }
    }

    /** Option A: subsample and zero-pad channels; no parameters. */
    static final class PadShortcut extends Module {
        private final int stride, before, after;

        PadShortcut(int stride, int before, int after) {
            this.stride = stride;
            this.before = before;
            this.after = after;
        }

        @Override
        public Variable forward(Variable x) {
            return ShortcutPadOp.apply(x, stride, before, after);
        }

        @Override
        public String describe() {
            return "PadShortcut(stride=" + stride + ", pad=" + before + "+" + after + ")";
        }
    }
}
