package org.resnet4j.autograd.ops;

import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.Variable;
import org.resnet4j.tensor.Tensor;

/** y = c * x for a constant c (a loss divided by a count); backward dx = c * dy. */
public final class ScaleOp {
    private ScaleOp() {}

    public static Variable apply(Variable x, float c) {
        if (x.isMeta()) return Variable.constant(Tensor.meta(x.shape()));
        Tensor y = scaled(x.value(), c);
        return Node.record(y, () -> new Node(x) {
            @Override
            protected void backward(Tensor dy) {
                inputs()[0].addGradOwned(scaled(dy, c));
            }
        }, x);
    }

    private static Tensor scaled(Tensor t, float c) {
        Tensor y = Tensor.zeros(t.shape());
        float[] s = t.data(), d = y.data();
        for (int i = 0; i < d.length; i++) d[i] = s[i] * c;
        return y;
    }
}
