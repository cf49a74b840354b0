package org.resnet4j.autograd.ops;

import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.OpProfile;
import org.resnet4j.autograd.Variable;
import org.resnet4j.kernels.Parallel;
import org.resnet4j.tensor.Tensor;

/**
 * The parameter-free "option A" shortcut of He et al. 2015 (CIFAR nets): subsample by the stride
 * and zero-pad the new channels, padBefore before and padAfter after
 * (the common PyTorch form: F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4))).
 */
public final class ShortcutPadOp {
    private ShortcutPadOp() {}

    public static Variable apply(Variable x, int stride, int padBefore, int padAfter) {
        int[] s = x.shape();
        int n = s[0], c = s[1], h = s[2], w = s[3];
        int oh = (h + stride - 1) / stride, ow = (w + stride - 1) / stride, oc = c + padBefore + padAfter;
        int[] outShape = {n, oc, oh, ow};
        if (x.isMeta()) return Variable.constant(Tensor.meta(outShape));
        long t0 = OpProfile.now();
        Tensor y = Tensor.uninitialized(outShape);
        float[] xd = x.value().data(), yd = y.data();
        int plane = oh * ow;
        Parallel.forRangeGuided(n, 1, (i0, i1) -> { // images over the pool: each writes its own block, zeros included
            for (int i = i0; i < i1; i++) {
                java.util.Arrays.fill(yd, i * oc * plane, (i * oc + padBefore) * plane, 0f);
                java.util.Arrays.fill(yd, (i * oc + padBefore + c) * plane, (i + 1) * oc * plane, 0f);
                for (int ch = 0; ch < c; ch++)
                    for (int oy = 0; oy < oh; oy++)
                        for (int ox = 0; ox < ow; ox++)
                            yd[((i * oc + ch + padBefore) * oh + oy) * ow + ox] = xd[((i * c + ch) * h + oy * stride) * w + ox * stride];
            }
        });
        OpProfile.add("ShortcutPadOp fwd", 0, t0);
        return Node.record(y, () -> new Node(x) {
            @Override
            protected void backward(Tensor dy) {
                Tensor dx = Tensor.uninitialized(s);
                float[] g = dy.data(), d = dx.data();
                Parallel.forRangeGuided(n, 1, (i0, i1) -> { // the positions the stride skipped get zero
                    for (int i = i0; i < i1; i++) {
                        java.util.Arrays.fill(d, i * c * h * w, (i + 1) * c * h * w, 0f);
                        for (int ch = 0; ch < c; ch++)
                            for (int oy = 0; oy < oh; oy++)
                                for (int ox = 0; ox < ow; ox++)
                                    d[((i * c + ch) * h + oy * stride) * w + ox * stride] = g[((i * oc + ch + padBefore) * oh + oy) * ow + ox];
                    }
                });
                inputs()[0].addGradOwned(dx);
            }
        }, x);
    }
}
