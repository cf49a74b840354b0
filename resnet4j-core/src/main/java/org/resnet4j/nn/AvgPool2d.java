package org.resnet4j.nn;

import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.PoolOps;

/** torch.nn.AvgPool2d (square window, count_include_pad=True). */
public final class AvgPool2d extends Module {
    public final int kernel, stride, padding;

    public AvgPool2d(int kernel, int stride, int padding) {
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
    }

    @Override
    public Variable forward(Variable x) {
        return PoolOps.avgPool(x, kernel, stride, padding);
    }

    @Override
    public String describe() {
        return "AvgPool2d(kernel=" + kernel + ", stride=" + stride + ", padding=" + padding + ")";
    }
}
