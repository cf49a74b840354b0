package org.resnet4j.autograd.ops;

import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.OpProfile;
import org.resnet4j.autograd.Variable;
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
        Tensor y = Tensor.zeros(outShape);
        float[] xd = x.value().data(), yd = y.data();
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                        yd[((i * oc + ch + padBefore) * oh + oy) * ow + ox] = xd[((i * c + ch) * h + oy * stride) * w + ox * stride];
        OpProfile.add("ShortcutPadOp fwd", 0, t0);
        return Node.record(y, () -> new Node(x) {
            @Override
            protected void backward(Tensor dy) {
                Tensor dx = Tensor.zeros(s);
                float[] g = dy.data(), d = dx.data();
                for (int i = 0; i < n; i++)
                    for (int ch = 0; ch < c; ch++)
                        for (int oy = 0; oy < oh; oy++)
                            for (int ox = 0; ox < ow; ox++)
                                d[((i * c + ch) * h + oy * stride) * w + ox * stride] = g[((i * oc + ch + padBefore) * oh + oy) * ow + ox];
                inputs()[0].addGradOwned(dx);
            }
        }, x);
    }
}
