package org.resnet4j.nn;

import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.ReshapeOp;

/** torch.nn.Flatten (start_dim 1): [N, ...] -> [N, prod(...)]. */
public final class Flatten extends Module {
    @Override
    public Variable forward(Variable x) {
        return ReshapeOp.flatten(x);
    }

    @Override
    public String describe() {
        return "Flatten()";
    }
}
