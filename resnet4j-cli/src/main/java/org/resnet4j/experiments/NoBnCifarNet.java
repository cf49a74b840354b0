package org.resnet4j.experiments;

import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.AddOp;
import org.resnet4j.autograd.ops.ReshapeOp;
import org.resnet4j.autograd.ops.ShortcutPadOp;
import org.resnet4j.nn.AdaptiveAvgPool2d;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.Linear;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.ReLU;
import org.resnet4j.nn.Sequential;

/**
 * The CIFAR plain and residual nets of He et al. 2015, section 4.2, without batch normalization:
 * the control the degradation experiment needs. The paper (section 4.1) attributes the
 * plain nets' healthy gradients to BN; removing it shows what the shortcuts do on their own.
 *
 * <p>Same layout and parameter names as {@code models.CifarResNet} minus the BNs: {@code conv1}
 * (3x3 to 16 channels), {@code layer1..layer3} of n basic blocks at 16/32/64 channels (stride 2
 * on the first conv of layers 2 and 3), global average pooling, {@code fc}; 6n + 2 weight layers.
 * So the i-th conv/linear weight is the same layer in both families, and gradient CSVs of the BN
 * and BN-free nets line up by depth index. Each block is
 * {@code relu(conv2(relu(conv1(x))) + shortcut(x))}, convs with bias (there is no BN shift to
 * stand in for it), the shortcut the identity or option A (subsample, zero-pad channels,
 * {@link ShortcutPadOp}); with {@code plain} there is no shortcut.
 *
 * <p>Initialization, the "safe init" without BN:
 * <ul>
 *   <li>Every conv: Kaiming normal, fan-in mode, N(0, 2 / fan_in), biases zero (He et al. 2015,
 *       "Delving Deep into Rectifiers", eq. 10). It keeps the second moment of the signal
 *       constant through conv + ReLU, which is what lets the 20- and 56-layer plain nets start
 *       from a finite, non-vanishing signal without BN.</li>
 *   <li>Residual nets: the second conv of every block is further scaled by 1/sqrt(L), L the number
 *       of blocks. With both branch convs at Kaiming scale each block would add a branch of the
 *       same variance as its input, doubling it per block (2^27 for the 56-layer net); with the
 *       branch variance at 1/L of its input the growth over L blocks is about (1 + 1/L)^L {@literal <=} e.
 *       This is the variance argument of Fixup (Zhang, Dauphin &amp; Ma 2019, "Fixup
 *       Initialization"), whose rescaling L^(-1/(2m-2)) for m = 2 layers per branch is the same
 *       1/sqrt(L). Fixup also zero-initializes the branch's last layer; that is not done here on
 *       purpose: a zero conv2 gives every conv1 an exactly zero gradient at initialization (and
 *       conv2 an infinite update-to-weight ratio), which would make the gradient-flow measurement
 *       at init meaningless for half the layers. Plain nets get no scaling: there is no sum to
 *       grow, and scaling a plain chain would shrink the signal geometrically instead.</li>
 *   <li>{@code fc}: PyTorch's default uniform init, as in the BN nets.</li>
 * </ul>
 */
public final class NoBnCifarNet extends Module {
    private final Conv2d conv1;
    private final ReLU relu;
    private final Sequential layer1, layer2, layer3;
    private final AdaptiveAvgPool2d avgpool;
    private final Linear fc;
    private final int depth;
    private final boolean plain;

    public NoBnCifarNet(int depth, boolean plain, int inChannels, int classes) {
        if (depth < 8 || (depth - 2) % 6 != 0) throw new IllegalArgumentException("CIFAR net depth must be 6n+2 (20, 32, 44, 56, 110 ...), got " + depth);
        if (inChannels < 1 || classes < 1) throw new IllegalArgumentException("inChannels and classes must be >= 1");
        this.depth = depth;
        this.plain = plain;
        int n = (depth - 2) / 6;
        double branchScale = plain ? 1.0 : 1.0 / Math.sqrt(3.0 * n);
        conv1 = register("conv1", conv(inChannels, 16, 1));
        relu = register("relu", new ReLU());
        layer1 = register("layer1", stage(16, 16, n, 1, plain, branchScale));
        layer2 = register("layer2", stage(16, 32, n, 2, plain, branchScale));
        layer3 = register("layer3", stage(32, 64, n, 2, plain, branchScale));
        avgpool = register("avgpool", new AdaptiveAvgPool2d(1, 1));
        fc = register("fc", new Linear(64, classes));
    }

    /** A BN-free CIFAR plain ({@code plain}) or residual net of the given depth (6n + 2). */
    public static Module create(int depth, boolean plain, int inChannels, int classes) {
        return new NoBnCifarNet(depth, plain, inChannels, classes);
    }

    public int depth() {
        return depth;
    }

    public boolean plain() {
        return plain;
    }

    /** A 3x3 conv with bias, Kaiming fan-in normal weight and zero bias. */
    private static Conv2d conv(int in, int out, int stride) {
        Conv2d c = new Conv2d(in, out, 3, stride, 1, 1, 1, true);
        if (!c.weight.value().isMeta()) {
            Init.kaimingNormalFanIn(c.weight.value());
            c.bias.value().fill(0f);
        }
        return c;
    }

    private static Sequential stage(int in, int out, int blocks, int stride, boolean plain, double branchScale) {
        Sequential s = new Sequential();
        for (int i = 0; i < blocks; i++) s.add(new Block(i == 0 ? in : out, out, i == 0 ? stride : 1, plain, branchScale));
        return s;
    }

    @Override
    public Variable forward(Variable x) {
        x = relu.call(conv1.call(x));
        x = layer3.call(layer2.call(layer1.call(x)));
        return fc.call(ReshapeOp.flatten(avgpool.call(x)));
    }

    @Override
    public String describe() {
        return "NoBnCifarNet(depth=" + depth + (plain ? ", plain" : ", residual") + ")";
    }

    /** relu(conv2(relu(conv1(x))) [+ shortcut(x)]). */
    static final class Block extends Module {
        private final Conv2d conv1, conv2;
        private final ReLU relu;
        private final boolean plain;
        private final int stride, padBefore, padAfter;

        Block(int in, int out, int stride, boolean plain, double branchScale) {
            conv1 = register("conv1", conv(in, out, stride));
            relu = register("relu", new ReLU());
            conv2 = register("conv2", conv(out, out, 1));
            if (branchScale != 1.0 && !conv2.weight.value().isMeta()) {
                float[] w = conv2.weight.value().data();
                for (int i = 0; i < w.length; i++) w[i] *= (float) branchScale;
            }
            this.plain = plain;
            this.stride = stride;
            // option A as CifarResNet: the new channels split evenly before and after the old ones
            this.padBefore = (out - in) / 2;
            this.padAfter = out - in - padBefore;
        }

        @Override
        public Variable forward(Variable x) {
            Variable y = conv2.call(relu.call(conv1.call(x)));
            if (!plain) {
                Variable sc = stride == 1 && padBefore + padAfter == 0 ? x : ShortcutPadOp.apply(x, stride, padBefore, padAfter);
                y = AddOp.apply(y, sc);
            }
            return relu.call(y);
        }

        @Override
        public String describe() {
            return "NoBnBlock(" + conv1.in + ", " + conv1.out + ", stride=" + stride + (plain ? ", plain" : "") + ")";
        }
    }
}
