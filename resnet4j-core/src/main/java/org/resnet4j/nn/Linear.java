package org.resnet4j.nn;

import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.LinearOp;
import org.resnet4j.tensor.Tensor;

/** torch.nn.Linear: y = x W^T + b, weight [out, in], PyTorch's default uniform init. */
public final class Linear extends Module {
    public final int in, out;
    public final Parameter weight, bias;

    public Linear(int in, int out) {
        this(in, out, true);
    }

    public Linear(int in, int out, boolean withBias) {
        this.in = in;
        this.out = out;
        Tensor w = allocate(out, in);
        Init.defaultUniform(w, in);
        this.weight = parameter("weight", w);
        if (withBias) {
            Tensor b = allocate(out);
            Init.defaultUniform(b, in);
            this.bias = parameter("bias", b);
        } else {
            this.bias = null;
        }
    }

    @Override
    public Variable forward(Variable x) {
        return LinearOp.apply(x, weight, bias);
    }

    @Override
    public String describe() {
        return "Linear(" + in + ", " + out + (bias == null ? ", bias=False" : "") + ")";
    }
}
