package org.resnet4j.autograd.ops;

import java.util.SplittableRandom;
import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.OpProfile;
import org.resnet4j.autograd.Variable;
import org.resnet4j.tensor.Tensor;

/** Inverted dropout (as PyTorch): zero each element with probability p, scale survivors by 1/(1-p). */
public final class DropoutOp {
    private DropoutOp() {}

    public static Variable apply(Variable x, float p, boolean training, SplittableRandom rng) {
        if (p < 0f || p > 1f) throw new IllegalArgumentException("dropout probability must be in [0, 1], got " + p);
        if (!training || p == 0f || x.isMeta()) return x;
        float[] xd = x.value().data();
        float[] mask = new float[xd.length];
        float keep = p == 1f ? 0f : 1f / (1f - p);
        for (int i = 0; i < mask.length; i++) mask[i] = rng.nextDouble() < p ? 0f : keep;
        long t0 = OpProfile.now();
        Tensor y = Tensor.zeros(x.shape());
        float[] yd = y.data();
        for (int i = 0; i < yd.length; i++) yd[i] = xd[i] * mask[i];
        OpProfile.add("DropoutOp fwd", 0, t0);
        return Node.record(y, () -> new Node(x) {
            @Override
            protected void backward(Tensor dy) {
                Tensor dx = Tensor.zeros(dy.shape());
                float[] g = dy.data(), d = dx.data();
                for (int i = 0; i < d.length; i++) d[i] = g[i] * mask[i];
                inputs()[0].addGradOwned(dx);
            }
        }, x);
    }
}
