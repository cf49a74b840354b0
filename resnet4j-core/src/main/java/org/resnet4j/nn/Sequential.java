package org.resnet4j.nn;

import org.resnet4j.autograd.Variable;

/** torch.nn.Sequential: children named "0", "1", ... applied in order. */
public final class Sequential extends Module {
    private int count;

    public Sequential(Module... modules) {
        for (Module m : modules) add(m);
    }

    public Sequential add(Module m) {
        register(Integer.toString(count++), m);
        return this;
    }

    public int size() {
        return count;
    }

    public Module get(int i) {
        Module m = children().get(Integer.toString(i));
        if (m == null) throw new IndexOutOfBoundsException("Sequential has " + count + " modules, asked for " + i);
        return m;
    }

    @Override
    public Variable forward(Variable x) {
        for (Module m : children().values()) x = m.call(x);
        return x;
    }

    @Override
    public String describe() {
        return "Sequential(" + count + ")";
    }
}
