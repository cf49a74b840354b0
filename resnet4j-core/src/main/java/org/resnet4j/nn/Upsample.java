package org.resnet4j.nn;

import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.UpsampleOp;

/** torch.nn.Upsample by an integer scale factor, nearest or bilinear (align_corners=False). */
public final class Upsample extends Module {
    public final int scale;
    public final UpsampleOp.Mode mode;

    public Upsample(int scale, UpsampleOp.Mode mode) {
        if (scale < 1) throw new IllegalArgumentException("Upsample scale must be >= 1, got " + scale);
        this.scale = scale;
        this.mode = mode;
    }

    @Override
    public Variable forward(Variable x) {
        int[] s = x.shape();
        return UpsampleOp.apply(x, s[2] * scale, s[3] * scale, mode);
    }

    @Override
    public String describe() {
        return "Upsample(scale=" + scale + ", mode=" + mode.name().toLowerCase() + ")";
    }
}
