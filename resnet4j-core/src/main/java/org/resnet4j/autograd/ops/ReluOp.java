package org.resnet4j.autograd.ops;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.resnet4j.kernels.Hardware;
import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.OpProfile;
import org.resnet4j.autograd.Variable;
import org.resnet4j.kernels.Parallel;
import org.resnet4j.tensor.Tensor;

/** y = max(x, 0). Backward needs only the output: dx = dy where y > 0. */
public final class ReluOp {
    private static final VectorSpecies<Float> S = Hardware.floatSpecies();

    private ReluOp() {}

    public static Variable apply(Variable x) {
        if (x.isMeta()) return Variable.constant(Tensor.meta(x.shape()));
        float[] xd = x.value().data();
        long t0 = OpProfile.now();
        Tensor y = Tensor.uninitialized(x.shape()); // every element written below
        float[] yd = y.data();
        Parallel.forRangeGuided(xd.length, 1 << 15, (a, b) -> {
            for (int i = a; i < b; i++) yd[i] = Math.max(xd[i], 0f); // max vectorizes; NaN stays NaN
        });
        OpProfile.add("ReluOp fwd", 0, t0);
        return Node.record(y, () -> new Backward(x, y), x);
    }

    /**
     * dy where y > 0, else 0, written over dy: ReLU's backward from its output (also the fused
     * BN+ReLU's and add+ReLU's). In place because a node owns the gradient it is given (its
     * output drops it after the node's backward), so no second block-sized buffer is needed.
     */
    static Tensor maskInPlace(Tensor dy, Tensor y) {
        if (!dy.sameShape(y)) throw new IllegalStateException("gradient shape " + dy.shapeString() + " for value " + y.shapeString());
        float[] g = dy.data(), yd = y.data(), d = g;
        Parallel.forRangeGuided(d.length, 1 << 15, (a, b) -> {
            int i = a;
            for (; i + S.length() <= b; i += S.length()) { // a select C2 does not vectorize by itself
                FloatVector gv = FloatVector.fromArray(S, g, i);
                gv.blend(0f, FloatVector.fromArray(S, yd, i).compare(VectorOperators.LE, 0f)).intoArray(d, i);
            }
            for (; i < b; i++) d[i] = yd[i] > 0f ? g[i] : 0f;
        });
        return dy;
    }

    private static final class Backward extends Node {
        private Tensor y;

        Backward(Variable x, Tensor y) {
            super(x);
            this.y = y;
        }

        @Override
        public Tensor reluSigns() {
            return y;
        }

        @Override
        protected void backward(Tensor dy) {
            inputs()[0].addGradOwned(maskInPlace(dy, y));
        }

        @Override
        protected void release() {
            y = null;
        }
    }
}
