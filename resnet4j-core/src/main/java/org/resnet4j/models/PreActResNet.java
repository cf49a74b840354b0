package org.resnet4j.models;

import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.AddOp;
import org.resnet4j.autograd.ops.ReshapeOp;
import org.resnet4j.nn.AdaptiveAvgPool2d;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Fusion;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Dropout;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.Linear;
import org.resnet4j.nn.MaxPool2d;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.ReLU;
import org.resnet4j.nn.Sequential;

/**
 * Pre-activation ResNets (He et al. 2016, "Identity Mappings in Deep Residual Networks"): each
 * block is BN-ReLU-conv, the shortcut path stays a pure identity, and one BN-ReLU follows the last
 * stage. Where the shape changes, a 1x1 projection is applied to the pre-activated input.
 * ImageNet form: 7x7/2 stem conv + BN + ReLU + max pool, stages at 64..512 planes.
 * CIFAR form: 3x3 stem conv, stages at 16/32/64 planes (preact_resnet110: basic blocks,
 * preact_resnet164: bottlenecks, as in the paper's Table 3).
 */
public final class PreActResNet extends Module {
    private final Module stem;
    private final Sequential[] stages;
    private final BatchNorm2d finalBn;
    private final ReLU relu;
    private final AdaptiveAvgPool2d avgpool;
    private final Dropout dropout;
    private final Linear fc;

    private PreActResNet(boolean imagenet, boolean bottleneck, int[] layers, int[] planes, ModelConfig c) {
        int expansion = bottleneck ? 4 : 1;
        if (imagenet) {
            stem = register("stem", new Sequential(new Conv2d(c.inChannels(), 64, 7, 2, 3), new BatchNorm2d(64),
                    new ReLU(), new MaxPool2d(3, 2, 1)));
        } else {
            stem = register("conv1", new Conv2d(c.inChannels(), planes[0], 3, 1, 1));
        }
        int in = imagenet ? 64 : planes[0];
        stages = new Sequential[layers.length];
        for (int s = 0; s < layers.length; s++) {
            Sequential st = new Sequential();
            for (int i = 0; i < layers[s]; i++) {
                int stride = i == 0 && s > 0 ? 2 : 1;
                st.add(bottleneck ? new PreActBottleneck(in, planes[s], stride) : new PreActBlock(in, planes[s], stride));
                in = planes[s] * expansion;
            }
            stages[s] = register("layer" + (s + 1), st);
        }
        finalBn = register("final_bn", new BatchNorm2d(in));
        relu = register("relu", new ReLU());
        avgpool = register("avgpool", new AdaptiveAvgPool2d(1, 1));
        dropout = c.dropout() > 0 ? register("dropout", new Dropout(c.dropout())) : null;
        fc = register("fc", new Linear(in, c.numClasses()));
        for (Module m : namedModules().values()) if (m instanceof Conv2d conv) Init.kaimingNormalFanOut(conv.weight.value());
    }

    public static PreActResNet imagenet(boolean bottleneck, int[] layers, ModelConfig c) {
        return new PreActResNet(true, bottleneck, layers, new int[] {64, 128, 256, 512}, c);
    }

    /** depth = 6n + 2 with basic blocks, or 9n + 2 with bottlenecks. */
    public static PreActResNet cifar(int depth, boolean bottleneck, ModelConfig c) {
        int per = bottleneck ? 9 : 6;
        if ((depth - 2) % per != 0) throw new IllegalArgumentException("CIFAR pre-act depth must be " + per + "n+2, got " + depth);
        int n = (depth - 2) / per;
        return new PreActResNet(false, bottleneck, new int[] {n, n, n}, new int[] {16, 32, 64}, c);
    }

    @Override
    public Variable forward(Variable x) {
        x = stem.call(x);
        for (Sequential s : stages) x = s.call(x);
        x = relu.call(finalBn.call(x));
        x = ReshapeOp.flatten(avgpool.call(x));
        return fc.call(dropout == null ? x : dropout.call(x));
    }

    /** BN-ReLU-conv3x3, BN-ReLU-conv3x3, plus the shortcut. */
    static final class PreActBlock extends Module {
        private final BatchNorm2d bn1, bn2;
        private final Conv2d conv1, conv2;
        private final ReLU relu;
        private final Conv2d shortcut;

        PreActBlock(int in, int planes, int stride) {
            bn1 = register("bn1", new BatchNorm2d(in));
            conv1 = register("conv1", new Conv2d(in, planes, 3, stride, 1));
            bn2 = register("bn2", new BatchNorm2d(planes));
            conv2 = register("conv2", new Conv2d(planes, planes, 3, 1, 1));
            relu = register("relu", new ReLU());
            shortcut = stride != 1 || in != planes ? register("shortcut", new Conv2d(in, planes, 1, stride, 0)) : null;
        }

        @Override
        public Variable forward(Variable x) {
            Variable pre = Fusion.bnRelu(bn1, relu, x);
            Variable identity = shortcut == null ? x : shortcut.call(pre);
            Variable out = conv1.call(pre);
            out = conv2.call(Fusion.bnRelu(bn2, relu, out));
            return AddOp.apply(out, identity);
        }
    }

    /** BN-ReLU-conv1x1, BN-ReLU-conv3x3 (stride), BN-ReLU-conv1x1 (x4), plus the shortcut. */
    static final class PreActBottleneck extends Module {
        private final BatchNorm2d bn1, bn2, bn3;
        private final Conv2d conv1, conv2, conv3;
        private final ReLU relu;
        private final Conv2d shortcut;

        PreActBottleneck(int in, int planes, int stride) {
            bn1 = register("bn1", new BatchNorm2d(in));
            conv1 = register("conv1", new Conv2d(in, planes, 1, 1, 0));
            bn2 = register("bn2", new BatchNorm2d(planes));
            conv2 = register("conv2", new Conv2d(planes, planes, 3, stride, 1));
            bn3 = register("bn3", new BatchNorm2d(planes));
            conv3 = register("conv3", new Conv2d(planes, planes * 4, 1, 1, 0));
            relu = register("relu", new ReLU());
            shortcut = stride != 1 || in != planes * 4 ? register("shortcut", new Conv2d(in, planes * 4, 1, stride, 0)) : null;
        }

        @Override
        public Variable forward(Variable x) {
            Variable pre = Fusion.bnRelu(bn1, relu, x);
            Variable identity = shortcut == null ? x : shortcut.call(pre);
            Variable out = conv1.call(pre);
            out = conv2.call(Fusion.bnRelu(bn2, relu, out));
            out = conv3.call(Fusion.bnRelu(bn3, relu, out));
            return AddOp.apply(out, identity);
        }
    }
}
