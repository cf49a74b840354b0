package org.resnet4j.nn;

import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.PoolOps;

/** torch.nn.MaxPool2d (square window, dilation 1, optional ceil_mode). */
public final class MaxPool2d extends Module {
    public final int kernel, stride, padding;
    public final boolean ceilMode;

    public MaxPool2d(int kernel, int stride, int padding) {
        this(kernel, stride, padding, false);
    }

    public MaxPool2d(int kernel, int stride, int padding, boolean ceilMode) {
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
        this.ceilMode = ceilMode;
    }

    @Override
    public Variable forward(Variable x) {
        return PoolOps.maxPool(x, kernel, stride, padding, 1, ceilMode);
    }

    @Override
    public String describe() {
        return "MaxPool2d(kernel=" + kernel + ", stride=" + stride + ", padding=" + padding + (ceilMode ? ", ceil_mode=True" : "") + ")";
    }
}
