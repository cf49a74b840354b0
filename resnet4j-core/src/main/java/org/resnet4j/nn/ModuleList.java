package org.resnet4j.nn;

import org.resnet4j.autograd.Variable;

/**
 * torch.nn.ModuleList: children named "0", "1", ... held for their parameters and names, with no
 * forward of its own; the owner decides how to run them (ASPP runs its branches side by side).
 */
public final class ModuleList extends Module {
    private int count;

    public ModuleList add(Module m) {
        register(Integer.toString(count++), m);
        return this;
    }

    public int size() {
        return count;
    }

    public Module get(int i) {
        Module m = children().get(Integer.toString(i));
        if (m == null) throw new IndexOutOfBoundsException("ModuleList has " + count + " modules, asked for " + i);
        return m;
    }

    /** A ModuleList is not callable, as in PyTorch. */
    @Override
    public Variable forward(Variable x) {
        throw new UnsupportedOperationException("a ModuleList has no forward; its owner runs its " + count + " modules");
    }

    @Override
    public String describe() {
        return "ModuleList(" + count + ")";
    }
}
