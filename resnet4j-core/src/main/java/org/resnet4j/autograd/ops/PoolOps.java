package org.resnet4j.autograd.ops;

import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.OpProfile;
import org.resnet4j.autograd.Variable;
import org.resnet4j.kernels.Pool;
import org.resnet4j.tensor.Tensor;

/** max_pool2d, avg_pool2d and adaptive_avg_pool2d over NCHW, each forward beside its backward. */
public final class PoolOps {
    private PoolOps() {}

    private static int[] nchw(Variable x, String op) {
        int[] s = x.shape();
        if (s.length != 4) throw new IllegalArgumentException(op + " expects NCHW input, got " + x.value().shapeString());
        return s;
    }

    private static int outSize(String op, int in, int k, int stride, int pad, int dil, boolean ceil) {
        if (pad * 2 > k) throw new IllegalArgumentException(op + ": padding " + pad + " must be at most half of kernel " + k);
        int o = Pool.outSize(in, k, stride, pad, dil, ceil);
        if (o < 1) throw new IllegalArgumentException(op + ": input size " + in + " too small for kernel " + k);
        return o;
    }

    // ------------------------------------------------------------------ max
    public static Variable maxPool(Variable x, int k, int stride, int pad, int dil, boolean ceilMode) {
        int[] s = nchw(x, "max_pool2d");
        int oh = outSize("max_pool2d", s[2], k, stride, pad, dil, ceilMode);
        int ow = outSize("max_pool2d", s[3], k, stride, pad, dil, ceilMode);
        int[] outShape = {s[0], s[1], oh, ow};
        if (x.isMeta()) return Variable.constant(Tensor.meta(outShape));
        long t0 = OpProfile.now();
        Tensor y = Tensor.zeros(outShape);
        int planes = s[0] * s[1];
        if (!org.resnet4j.autograd.GradMode.isEnabled() || !x.requiresGrad()) { // no backward: no argmax to keep
            Pool.maxForwardValues(planes, s[2], s[3], oh, ow, k, stride, pad, dil, x.value().data(), y.data());
            OpProfile.add("PoolOps max fwd", 0, t0);
            return Variable.constant(y);
        }
        int[] argmax = new int[y.size()];
        Pool.maxForward(planes, s[2], s[3], oh, ow, k, stride, pad, dil, x.value().data(), y.data(), argmax);
        OpProfile.add("PoolOps max fwd", 0, t0);
        return Node.record(y, () -> new Node(x) {
            @Override
            protected void backward(Tensor dy) {
                Tensor dx = Tensor.zeros(s);
                Pool.maxBackward(planes, s[2], s[3], oh, ow, dy.data(), argmax, dx.data());
                inputs()[0].addGradOwned(dx);
            }
        }, x);
    }

    // ------------------------------------------------------------------ average
    public static Variable avgPool(Variable x, int k, int stride, int pad) {
        int[] s = nchw(x, "avg_pool2d");
        int oh = outSize("avg_pool2d", s[2], k, stride, pad, 1, false);
        int ow = outSize("avg_pool2d", s[3], k, stride, pad, 1, false);
        int[] outShape = {s[0], s[1], oh, ow};
        if (x.isMeta()) return Variable.constant(Tensor.meta(outShape));
        long t0 = OpProfile.now();
        Tensor y = Tensor.zeros(outShape);
        int planes = s[0] * s[1];
        Pool.avgForward(planes, s[2], s[3], oh, ow, k, stride, pad, x.value().data(), y.data());
        OpProfile.add("PoolOps avg fwd", 0, t0);
        return Node.record(y, () -> new Node(x) {
            @Override
            protected void backward(Tensor dy) {
                Tensor dx = Tensor.zeros(s);
                Pool.avgBackward(planes, s[2], s[3], oh, ow, k, stride, pad, dy.data(), dx.data());
                inputs()[0].addGradOwned(dx);
            }
        }, x);
    }

    // ------------------------------------------------------------------ adaptive average
    public static Variable adaptiveAvgPool(Variable x, int oh, int ow) {
        int[] s = nchw(x, "adaptive_avg_pool2d");
        if (oh < 1 || ow < 1) throw new IllegalArgumentException("adaptive_avg_pool2d: output size must be >= 1");
        int[] outShape = {s[0], s[1], oh, ow};
        if (x.isMeta()) return Variable.constant(Tensor.meta(outShape));
        long t0 = OpProfile.now();
        Tensor y = Tensor.zeros(outShape);
        int planes = s[0] * s[1];
        Pool.adaptiveAvgForward(planes, s[2], s[3], oh, ow, x.value().data(), y.data());
        OpProfile.add("PoolOps adaptive-avg fwd", 0, t0);
        return Node.record(y, () -> new Node(x) {
            @Override
            protected void backward(Tensor dy) {
                Tensor dx = Tensor.zeros(s);
                Pool.adaptiveAvgBackward(planes, s[2], s[3], oh, ow, dy.data(), dx.data());
                inputs()[0].addGradOwned(dx);
            }
        }, x);
    }
}
