package org.resnet4j.nn;

import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.PoolOps;

/** torch.nn.AdaptiveAvgPool2d: average into a fixed output grid (1x1 is global average pooling). */
public final class AdaptiveAvgPool2d extends Module {
    public final int outH, outW;

    public AdaptiveAvgPool2d(int outH, int outW) {
        this.outH = outH;
        this.outW = outW;
    }

    @Override
    public Variable forward(Variable x) {
        return PoolOps.adaptiveAvgPool(x, outH, outW);
    }

    @Override
    public String describe() {
        return "AdaptiveAvgPool2d(" + outH + ", " + outW + ")";
    }
}
