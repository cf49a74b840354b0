package org.resnet4j.nn;

import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.ReluOp;

/** torch.nn.ReLU. */
public final class ReLU extends Module {
    @Override
    public Variable forward(Variable x) {
        return ReluOp.apply(x);
    }

    @Override
    public String describe() {
        return "ReLU()";
    }
}
