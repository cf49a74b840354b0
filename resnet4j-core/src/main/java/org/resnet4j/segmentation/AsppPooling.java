package org.resnet4j.segmentation;

import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.UpsampleOp;
import org.resnet4j.nn.AdaptiveAvgPool2d;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.ReLU;

/**
 * ASPP's image-level branch (Chen et al. 2017, section 3.3: "global context"): global average
 * pooling to 1x1, 1x1 conv (no bias), BN, ReLU, then bilinear interpolation (align_corners
 * False) back to the input map's size, which from one pixel is a broadcast. Members named "0".."3"
 * as torchvision's ASPPPooling, a Sequential with its own forward.
 */
public final class AsppPooling extends Module {
    private final AdaptiveAvgPool2d pool;
    private final Conv2d conv;
    private final BatchNorm2d bn;
    private final ReLU relu;

    public AsppPooling(int inChannels, int outChannels) {
        pool = register("0", new AdaptiveAvgPool2d(1, 1));
        conv = register("1", new Conv2d(inChannels, outChannels, 1, 1, 0));
        bn = register("2", new BatchNorm2d(outChannels));
        relu = register("3", new ReLU());
    }

    @Override
    public Variable forward(Variable x) {
        int[] s = x.shape();
        if (bn.isTraining() && !bn.isFrozen() && s[0] == 1) {
            // batch statistics over one value per channel: PyTorch refuses it, and the normalized output would be 0
            throw new IllegalArgumentException("ASPP pooling: batch norm in training needs more than 1 value per channel; input "
                    + x.value().shapeString() + " pools to [1, C, 1, 1] (train with a batch of at least 2, or call eval())");
        }
        Variable y = relu.call(bn.call(conv.call(pool.call(x))));
        return UpsampleOp.apply(y, s[2], s[3], UpsampleOp.Mode.BILINEAR, false);
    }

    @Override
    public String describe() {
        return "ASPPPooling";
    }
}
