package org.resnet4j.testing;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.function.Function;
import org.resnet4j.autograd.Variable;
import org.resnet4j.tensor.Tensor;

/**
 * Comparisons against PyTorch goldens: errors relative to the reference's largest magnitude
 * (floored at 1e-6, so an all-zero reference is compared absolutely), L2 norms for gradients
 * whose worst element is ill-conditioned, and the op goldens the tools/make_*goldens.py scripts
 * record with {@code op_case}.
 */
public final class Goldens {
    /** The op tests' bound: output and input gradients within 1e-5 of the reference's largest value. */
    public static final double OP_TOL = 1e-5;

    private Goldens() {}

    /** a - b, elementwise, as a new tensor of a's shape. */
    public static Tensor diff(Tensor a, Tensor b) {
        Tensor d = a.copy();
        for (int i = 0; i < d.size(); i++) d.data()[i] -= b.data()[i];
        return d;
    }

    /** The L2 norm, accumulated in double. */
    public static double l2(Tensor t) {
        double s = 0;
        for (float v : t.data()) s += (double) v * v;
        return Math.sqrt(s);
    }

    /** Same shape, and max |want - got| / max(max |want|, 1e-6) <= tol. */
    public static void assertClose(String what, Tensor want, Tensor got, double tol) {
        assertNotNull(want, "golden lacks " + what);
        assertNotNull(got, "no value for " + what);
        assertTrue(want.sameShape(got), what + ": shape " + got.shapeString() + " vs golden " + want.shapeString());
        double scale = Math.max(want.maxAbs(), 1e-6);
        double err = Tensor.maxAbsDiff(want, got) / scale;
        assertTrue(err <= tol, what + ": relative error " + err + " > " + tol + " (scale " + scale + ")");
    }

    /**
     * One op golden of {@code g} (name/in{i}, name/out, name/r, name/grad{i}): the op on copies of
     * the stored inputs gives name/out, and the backward of sum(y * r) gives each input's stored
     * gradient, all within {@link #OP_TOL}.
     */
    public static void checkOp(Map<String, Tensor> g, String name, Function<Variable[], Variable> op) {
        int n = 0;
        while (g.containsKey(name + "/in" + n)) n++;
        assertTrue(n > 0, "no golden for " + name);
        Variable[] xs = new Variable[n];
        for (int i = 0; i < n; i++) xs[i] = Variable.leaf(g.get(name + "/in" + i).copy());
        Variable y = op.apply(xs);
        assertClose(name + " output", g.get(name + "/out"), y.value(), OP_TOL);
        y.backward(g.get(name + "/r").reshape(y.shape()));
        for (int i = 0; i < n; i++) assertClose(name + " grad of input " + i, g.get(name + "/grad" + i), xs[i].grad(), OP_TOL);
    }
}
