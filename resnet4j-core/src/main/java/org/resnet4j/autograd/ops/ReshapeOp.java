package org.resnet4j.autograd.ops;

import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.Variable;
import org.resnet4j.tensor.Tensor;

/** A view with a new shape (flatten is reshape to [N, -1]); the gradient is reshaped back. */
public final class ReshapeOp {
    private ReshapeOp() {}

    public static Variable apply(Variable x, int... shape) {
        Tensor y = x.value().reshape(shape); // shares storage; works for meta tensors too
        if (x.isMeta()) return Variable.constant(y);
        int[] inShape = x.shape();
        return Node.record(y, () -> new Node(x) {
            @Override
            protected void backward(Tensor dy) {
                inputs()[0].addGrad(dy.reshape(inShape));
            }
        }, x);
    }

    /** torch.flatten(x, 1): [N, ...] -> [N, prod(...)]. */
    public static Variable flatten(Variable x) {
        return apply(x, x.shape()[0], -1);
    }
}
