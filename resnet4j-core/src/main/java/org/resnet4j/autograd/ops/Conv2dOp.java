package org.resnet4j.autograd.ops;

import org.resnet4j.autograd.FlopCounter;
import org.resnet4j.autograd.Node;
import org.resnet4j.autograd.OpProfile;
import org.resnet4j.autograd.Variable;
import org.resnet4j.kernels.Conv;
import org.resnet4j.kernels.Epilogue;
import org.resnet4j.kernels.ConvShape;
import org.resnet4j.tensor.Tensor;

/** y = conv2d(x, w) + b (torch.nn.functional.conv2d). Saves x and w for backward. */
public final class Conv2dOp {
    private Conv2dOp() {}

    /** Stride, padding and dilation per axis, and groups, as in PyTorch's Conv2d. */
    public record Params(int strideH, int strideW, int padH, int padW, int dilH, int dilW, int groups) {
        public static Params of(int stride, int pad, int dil, int groups) {
            return new Params(stride, stride, pad, pad, dil, dil, groups);
        }
    }

    static ConvShape shape(int[] x, int[] w, Params p) {
        if (x.length != 4) throw new IllegalArgumentException("conv2d expects NCHW input, got rank " + x.length);
        if (w.length != 4) throw new IllegalArgumentException("conv2d expects a 4-D weight, got rank " + w.length);
        if (w[1] * p.groups() != x[1]) {
            throw new IllegalArgumentException("conv2d: input has " + x[1] + " channels but weight "
                    + java.util.Arrays.toString(w) + " with groups=" + p.groups() + " expects " + w[1] * p.groups());
        }
        return ConvShape.of(x[0], x[1], x[2], x[3], w[0], w[2], w[3], p.strideH(), p.strideW(),
                p.padH(), p.padW(), p.dilH(), p.dilW(), p.groups());
    }

    // x: [N, Cin, H, W]  w: [Cout, Cin/groups, kh, kw]  b: [Cout] or null  ->  y: [N, Cout, OH, OW]
    public static Variable apply(Variable x, Variable w, Variable b, Params p) {
        ConvShape s = shape(x.shape(), w.shape(), p);
        FlopCounter.add(s.macs());
        int[] outShape = {s.n(), s.cout(), s.oh(), s.ow()};
        if (x.isMeta()) return Variable.constant(Tensor.meta(outShape));
        long t0 = OpProfile.now();
        Tensor y = Tensor.uninitialized(outShape); // overwritten whole (ConvTest starts from noise)
        Conv.forward(s, x.value().data(), w.value().data(), b == null ? null : b.value().data(), y.data());
        if (t0 != 0) OpProfile.add(profileKey(s) + " fwd", s.macs(), t0);
        Tensor xv = x.value(), wv = w.value();
        return Node.record(y, () -> new Backward(x, w, b, s, xv, wv), x, w, b);
    }

    /**
     * Inference only: conv, then per output channel y * scale + shift (a folded batch norm or a
     * bias), plus {@code residual}, then ReLU, all applied while each image's output is in cache.
     * Records nothing, so it refuses to run where a graph would be needed.
     */
    public static Variable inference(Variable x, Variable w, Params p, float[] scale, float[] shift, Variable residual, boolean relu) {
        ConvShape s = shape(x.shape(), w.shape(), p);
        FlopCounter.add(s.macs());
        int[] outShape = {s.n(), s.cout(), s.oh(), s.ow()};
        if (residual != null && !java.util.Arrays.equals(residual.shape(), outShape)) {
            throw new IllegalArgumentException("residual " + residual.value().shapeString() + " does not match conv output "
                    + java.util.Arrays.toString(outShape));
        }
        if (x.isMeta()) return Variable.constant(Tensor.meta(outShape));
        if (org.resnet4j.autograd.GradMode.isEnabled() && (x.requiresGrad() || w.requiresGrad()
                || (residual != null && residual.requiresGrad()))) {
            throw new IllegalStateException("fused inference conv used where gradients are recorded");
        }
        long t0 = OpProfile.now();
        Tensor y = Tensor.uninitialized(outShape); // Conv.forward overwrites every element (ConvTest starts from noise)
        Conv.forward(s, x.value().data(), w.value().data(),
                new Epilogue(scale, shift, residual == null ? null : residual.value().data(), relu), y.data(), true);
        if (t0 != 0) OpProfile.add(profileKey(s) + " fwd fused", s.macs(), t0);
        return Variable.constant(y);
    }

    /** "conv3x3/s1 64->64 @56x56" (+ "/gG" when grouped): one profile row per layer shape. */
    private static String profileKey(ConvShape s) {
        return "conv" + s.kh() + "x" + s.kw() + "/s" + s.strideH() + " " + s.cin() + "->" + s.cout() + " @" + s.h() + "x" + s.w()
                + (s.groups() > 1 ? "/g" + s.groups() : "");
    }

    private static final class Backward extends Node {
        private final ConvShape s;
        private Tensor x, w; // x for its shape: its values are read through the input (see backward)

        Backward(Variable x, Variable w, Variable b, ConvShape s, Tensor xv, Tensor wv) {
            super(x, w, b);
            this.s = s;
            this.x = xv;
            this.w = wv;
        }

        @Override
        public boolean readsOwnOutput() {
            return false; // it keeps its input and weight
        }

        @Override
        protected String profileKey() {
            return null; // timed below, backward-data and backward-weight apart
        }

        @Override
        protected void backward(Tensor dy) {
            if (needs(0)) {
                long t0 = OpProfile.now();
                Tensor dx = Tensor.uninitialized(x.shape()); // overwritten whole, as y above
                Conv.backwardData(s, dy.data(), w.data(), dx.data());
                inputs()[0].addGradOwned(dx);
                if (t0 != 0) OpProfile.add(Conv2dOp.profileKey(s) + " bwd-data", s.macs(), t0);
            }
            if (needs(1) || needs(2)) {
                long t0 = OpProfile.now();
                Tensor dw = inputs()[1].newGradBuffer(w.shape());
                Tensor db = needs(2) ? inputs()[2].newGradBuffer(s.cout()) : null;
                // the input as stored, or recomputed when it was given back after the forward (Fusion.convReleasingInput)
                Tensor in = inputs()[0].valueForBackward();
                Conv.backwardWeight(s, in.data(), dy.data(), dw.data(), db == null ? null : db.data(), false);
                if (needs(1)) inputs()[1].addGradOwned(dw);
                if (db != null) inputs()[2].addGradOwned(db);
                if (t0 != 0) OpProfile.add(Conv2dOp.profileKey(s) + " bwd-weight", s.macs(), t0);
            }
        }

        @Override
        protected void release() {
            x = null;
            w = null;
        }
    }
}
