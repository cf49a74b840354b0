package org.resnet4j.nn;

import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.Conv2dOp;
import org.resnet4j.tensor.Tensor;

/** torch.nn.Conv2d with square kernel, stride, padding and dilation; weight [out, in/groups, k, k]. */
public final class Conv2d extends Module {
    public final int in, out, kernel, stride, padding, dilation, groups;
    public final Parameter weight, bias;
    private final Conv2dOp.Params params;

    public Conv2d(int in, int out, int kernel, int stride, int padding, int dilation, int groups, boolean bias) {
        if (in % groups != 0 || out % groups != 0) {
            throw new IllegalArgumentException("Conv2d: groups=" + groups + " must divide in=" + in + " and out=" + out);
        }
        this.in = in;
        this.out = out;
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
        this.dilation = dilation;
        this.groups = groups;
        Tensor w = allocate(out, in / groups, kernel, kernel);
        int fanIn = in / groups * kernel * kernel;
        Init.defaultUniform(w, fanIn);
        this.weight = parameter("weight", w);
        if (bias) {
            Tensor b = allocate(out);
            Init.defaultUniform(b, fanIn);
            this.bias = parameter("bias", b);
        } else {
            this.bias = null;
        }
        this.params = Conv2dOp.Params.of(stride, padding, dilation, groups);
    }

    /** A bias-free conv, as every conv in a ResNet. */
    public Conv2d(int in, int out, int kernel, int stride, int padding) {
        this(in, out, kernel, stride, padding, 1, 1, false);
    }

    public Conv2dOp.Params params() {
        return params;
    }

    @Override
    public Variable forward(Variable x) {
        return Conv2dOp.apply(x, weight, bias, params);
    }

    @Override
    public String describe() {
        return "Conv2d(" + in + ", " + out + ", kernel=" + kernel + ", stride=" + stride + ", padding=" + padding
                + (dilation != 1 ? ", dilation=" + dilation : "") + (groups != 1 ? ", groups=" + groups : "")
                + (bias == null ? ", bias=False" : "") + ")";
    }
}
