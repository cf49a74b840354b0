package org.resnet4j.autograd.ops;

import java.util.Arrays;
import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.OpProfile;
import org.resnet4j.autograd.Variable;
import org.resnet4j.tensor.Tensor;

/**
 * torch.permute followed by .contiguous(): the axes reordered, {@code dims[i]} the input axis that
 * becomes output axis i, copied into a new row-major tensor (a Tensor is always contiguous). A
 * detector head uses it to turn [N, A*K, H, W] maps into [N, H*W*A, K] rows, one per anchor.
 * Backward applies the inverse permutation to the gradient.
 */
public final class PermuteOp {
    private PermuteOp() {}

    public static Variable apply(Variable x, int... dims) {
        int[] s = x.shape();
        if (dims.length != s.length) {
            throw new IllegalArgumentException("permute: " + dims.length + " dims " + Arrays.toString(dims) + " for input "
                    + x.value().shapeString());
        }
        boolean[] seen = new boolean[s.length];
        for (int d : dims) {
            if (d < 0 || d >= s.length || seen[d]) {
                throw new IllegalArgumentException("permute: dims " + Arrays.toString(dims) + " are not a permutation of 0.."
                        + (s.length - 1));
            }
            seen[d] = true;
        }
        int[] out = new int[s.length];
        for (int i = 0; i < s.length; i++) out[i] = s[dims[i]];
        if (x.isMeta()) return Variable.constant(Tensor.meta(out));
        long t0 = OpProfile.now();
        Tensor y = permute(x.value(), dims);
        OpProfile.add("PermuteOp fwd", 0, t0);
        int[] inverse = new int[dims.length];
        for (int i = 0; i < dims.length; i++) inverse[dims[i]] = i;
        return Node.record(y, () -> new Node(x) {
            @Override
            protected void backward(Tensor dy) {
                inputs()[0].addGradOwned(permute(dy, inverse));
            }
        }, x);
    }

    /** The permuted copy of {@code t}: output index (o_0, ..., o_r) reads input index with i_{dims[k]} = o_k. */
    static Tensor permute(Tensor t, int[] dims) {
        int[] s = t.shape();
        int r = s.length;
        int[] out = new int[r];
        for (int i = 0; i < r; i++) out[i] = s[dims[i]];
        int[] inStride = new int[r];
        for (int i = r - 1, st = 1; i >= 0; i--) {
            inStride[i] = st;
            st *= s[i];
        }
        int[] step = new int[r]; // input stride of each output axis
        for (int i = 0; i < r; i++) step[i] = inStride[dims[i]];
        Tensor y = Tensor.zeros(out);
        float[] src = t.data(), dst = y.data();
        int n = dst.length;
        if (n == 0) return y;
        int[] idx = new int[r];
        int at = 0;
        int last = r - 1, inner = out[last], innerStep = step[last];
        for (int o = 0; o < n; o += inner) {
            for (int j = 0; j < inner; j++) dst[o + j] = src[at + j * innerStep];
            for (int k = last - 1; k >= 0; k--) { // odometer over the outer axes
                at += step[k];
                if (++idx[k] < out[k]) break;
                at -= step[k] * out[k];
                idx[k] = 0;
            }
        }
        return y;
    }
}
