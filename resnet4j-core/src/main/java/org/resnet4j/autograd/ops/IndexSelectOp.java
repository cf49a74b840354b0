package org.resnet4j.autograd.ops;

import java.util.Arrays;
import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.Variable;
import org.resnet4j.tensor.Tensor;

/**
 * torch.index_select(x, 0, index) (and x[index] with an index list): the rows of x named by
 * {@code index}, in that order, repeats allowed. A detector's loss uses it to pick the foreground
 * anchors' rows out of [N * HWA, 4]. Backward adds each output row's gradient into its source row.
 */
public final class IndexSelectOp {
    private IndexSelectOp() {}

    public static Variable apply(Variable x, int[] index) {
        int[] s = x.shape();
        if (s.length < 1) throw new IllegalArgumentException("index_select: input must have at least one dimension, got a scalar");
        int rows = s[0];
        for (int i : index) {
            if (i < 0 || i >= rows) {
                throw new IllegalArgumentException("index_select: index " + i + " is out of range for " + rows + " rows of "
                        + x.value().shapeString());
            }
        }
        int[] out = s.clone();
        out[0] = index.length;
        if (x.isMeta()) return Variable.constant(Tensor.meta(out));
        int row = rows == 0 ? 0 : x.value().size() / rows;
        Tensor y = Tensor.zeros(out);
        float[] src = x.value().data(), dst = y.data();
        for (int k = 0; k < index.length; k++) System.arraycopy(src, index[k] * row, dst, k * row, row);
        int[] idx = Arrays.copyOf(index, index.length);
        return Node.record(y, () -> new Node(x) {
            @Override
            protected void backward(Tensor dy) {
                Tensor dx = Tensor.zeros(s);
                float[] g = dy.data(), d = dx.data();
                for (int k = 0; k < idx.length; k++) {
                    int o = idx[k] * row;
                    for (int j = 0; j < row; j++) d[o + j] += g[k * row + j];
                }
                inputs()[0].addGradOwned(dx);
            }
        }, x);
    }
}
