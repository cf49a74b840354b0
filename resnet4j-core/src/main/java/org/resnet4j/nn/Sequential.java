package org.resnet4j.nn;

import org.resnet4j.autograd.Variable;

/** torch.nn.Sequential: children named "0", "1", ... applied in order. */
public final class Sequential extends ModuleSequence {
    public Sequential(Module... modules) {
        for (Module m : modules) add(m);
    }

    public Sequential add(Module m) {
        append(m);
        return this;
    }

    @Override
    public Variable forward(Variable x) {
        for (Module m : children().values()) x = m.call(x);
        return x;
    }
}
