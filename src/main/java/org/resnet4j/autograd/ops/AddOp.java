package org.resnet4j.autograd.ops;

import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.OpProfile;
import org.resnet4j.autograd.Variable;
import org.resnet4j.kernels.Parallel;
import org.resnet4j.tensor.Tensor;

/** y = a + b (same shapes): the residual connection. The gradient flows unchanged to both. */
public final class AddOp {
    private AddOp() {}

    public static Variable apply(Variable a, Variable b) {
        if (!a.value().sameShape(b.value())) {
            throw new IllegalArgumentException("add: shapes differ: " + a.value().shapeString() + " + " + b.value().shapeString());
        }
        if (a.isMeta()) return Variable.constant(Tensor.meta(a.shape()));
        float[] x = a.value().data(), z = b.value().data();
        long t0 = OpProfile.now();
        Tensor y = Tensor.zeros(a.shape());
        float[] yd = y.data();
        Parallel.forRange(yd.length, 1 << 15, (s, e) -> {
            for (int i = s; i < e; i++) yd[i] = x[i] + z[i];
        });
        OpProfile.add("AddOp fwd", 0, t0);
        return Node.record(y, () -> new Node(a, b) {
            @Override
            protected void backward(Tensor dy) {
                // dy is owned by the output, which drops it after this call: the first input gets a
                // copy, the second adopts it (correct also for x + x: the adoption then adds in place).
                if (needs(0)) inputs()[0].addGrad(dy);
                if (needs(1)) inputs()[1].addGradOwned(dy);
            }
        }, a, b);
    }
}
