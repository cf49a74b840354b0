package org.resnet4j.autograd.ops;

import org.resnet4j.autograd.FlopCounter;
import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.OpProfile;
import org.resnet4j.autograd.Variable;
import org.resnet4j.kernels.Gemm;
import org.resnet4j.tensor.Tensor;

/** y = x W^T + b (torch.nn.functional.linear). x: [N, in], W: [out, in], b: [out] or null. */
public final class LinearOp {
    private LinearOp() {}

    public static Variable apply(Variable x, Variable w, Variable b) {
        int[] xs = x.shape(), ws = w.shape();
        if (xs.length != 2 || ws.length != 2 || xs[1] != ws[1]) {
            throw new IllegalArgumentException("linear: input " + x.value().shapeString() + " does not fit weight "
                    + w.value().shapeString() + " (expected [N, " + (ws.length == 2 ? ws[1] : "?") + "])");
        }
        int n = xs[0], in = xs[1], out = ws[0];
        FlopCounter.add((long) n * in * out);
        if (x.isMeta()) return Variable.constant(Tensor.meta(n, out));
        long t0 = OpProfile.now();
        Tensor y = Tensor.zeros(n, out);
        float[] yd = y.data();
        if (b != null) {
            float[] bd = b.value().data();
            for (int i = 0; i < n; i++) System.arraycopy(bd, 0, yd, i * out, out);
        }
        Gemm.gemm(false, true, n, out, in, x.value().data(), 0, in, w.value().data(), 0, in, yd, 0, out, b != null);
        Tensor xv = x.value(), wv = w.value();
        OpProfile.add("LinearOp fwd", 0, t0);
        return Node.record(y, () -> new Node(x, w, b) {
            @Override
            protected void backward(Tensor dy) {
                float[] g = dy.data();
                if (needs(0)) { // dx[N, in] = dy[N, out] W[out, in]
                    Tensor dx = Tensor.zeros(n, in);
                    Gemm.gemm(false, false, n, in, out, g, 0, out, wv.data(), 0, in, dx.data(), 0, in, false);
                    inputs()[0].addGradOwned(dx);
                }
                if (needs(1)) { // dW[out, in] = dy^T x
                    Tensor dw = inputs()[1].newGradBuffer(out, in);
                    Gemm.gemm(true, false, out, in, n, g, 0, out, xv.data(), 0, in, dw.data(), 0, in, false);
                    inputs()[1].addGradOwned(dw);
                }
                if (needs(2)) {
                    Tensor db = Tensor.zeros(out);
                    float[] d = db.data();
                    for (int i = 0; i < n; i++) for (int j = 0; j < out; j++) d[j] += g[i * out + j];
                    inputs()[2].addGradOwned(db);
                }
            }
        }, x, w, b);
    }
}
