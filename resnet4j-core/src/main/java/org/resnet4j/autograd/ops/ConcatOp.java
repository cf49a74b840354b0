package org.resnet4j.autograd.ops;

import java.util.Arrays;
import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.OpProfile;
import org.resnet4j.autograd.Variable;
import org.resnet4j.tensor.Tensor;

/** torch.cat along one dimension; backward slices the gradient back into the pieces. */
public final class ConcatOp {
    private ConcatOp() {}

    public static Variable apply(int dim, Variable... xs) {
        if (xs.length == 0) throw new IllegalArgumentException("cat: no inputs");
        int[] first = xs[0].shape();
        int d = dim < 0 ? dim + first.length : dim;
        if (d < 0 || d >= first.length) throw new IllegalArgumentException("cat: dim " + dim + " out of range for rank " + first.length);
        int[] out = first.clone();
        out[d] = 0;
        int[] sizes = new int[xs.length];
        for (int i = 0; i < xs.length; i++) {
            int[] s = xs[i].shape();
            for (int j = 0; j < s.length; j++) {
                if (s.length != first.length || (j != d && s[j] != first[j])) {
                    throw new IllegalArgumentException("cat: input " + i + " has shape " + Arrays.toString(s)
                            + ", incompatible with " + Arrays.toString(first) + " along dim " + d);
                }
            }
            sizes[i] = s[d];
            out[d] += s[d];
        }
        boolean meta = false;
        for (Variable x : xs) meta |= x.isMeta();
        if (meta) return Variable.constant(Tensor.meta(out));
        int outer = 1, inner = 1;
        for (int j = 0; j < d; j++) outer *= first[j];
        for (int j = d + 1; j < first.length; j++) inner *= first[j];
        long t0 = OpProfile.now();
        Tensor y = Tensor.zeros(out);
        float[] yd = y.data();
        int total = out[d];
        int at = 0;
        for (int i = 0; i < xs.length; i++) {
            float[] src = xs[i].value().data();
            int chunk = sizes[i] * inner;
            for (int o = 0; o < outer; o++) System.arraycopy(src, o * chunk, yd, (o * total + at) * inner, chunk);
            at += sizes[i];
        }
        final int fOuter = outer, fInner = inner;
        OpProfile.add("ConcatOp fwd", 0, t0);
        return Node.record(y, () -> new Node(xs) {
            @Override
            protected void backward(Tensor dy) {
                float[] g = dy.data();
                int pos = 0;
                for (int i = 0; i < xs.length; i++) {
                    int chunk = sizes[i] * fInner;
                    if (needs(i)) {
                        Tensor dx = Tensor.zeros(xs[i].shape());
                        for (int o = 0; o < fOuter; o++) System.arraycopy(g, (o * total + pos) * fInner, dx.data(), o * chunk, chunk);
                        inputs()[i].addGradOwned(dx);
                    }
                    pos += sizes[i];
                }
            }
        }, xs);
    }
}
