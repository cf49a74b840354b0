package org.resnet4j.nn;

import java.util.SplittableRandom;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.DropoutOp;

/** torch.nn.Dropout: active only in training mode. Its generator is split from {@link Init}'s seed. */
public final class Dropout extends Module {
    public final float p;
    private SplittableRandom rng = Init.split();

    public Dropout(float p) {
        if (p < 0f || p > 1f) throw new IllegalArgumentException("Dropout probability must be in [0, 1], got " + p);
        this.p = p;
    }

    /** Restarts the mask generator; a trainer reseeds per iteration so a resumed run draws the same masks. */
    public void reseed(long seed) {
        rng = new SplittableRandom(seed);
    }

    @Override
    public Variable forward(Variable x) {
        return DropoutOp.apply(x, p, isTraining(), rng);
    }

    @Override
    public String describe() {
        return "Dropout(p=" + p + ")";
    }
}
