package org.resnet4j.nn;

import org.resnet4j.autograd.Variable;

/**
 * torch.nn.ModuleList: children named "0", "1", ... held for their parameters and names, with no
 * forward of its own; the owner decides how to run them (ASPP runs its branches side by side).
 */
public final class ModuleList extends ModuleSequence {
    public ModuleList add(Module m) {
        append(m);
        return this;
    }

    /** A ModuleList is not callable, as in PyTorch. */
    @Override
    public Variable forward(Variable x) {
        throw new UnsupportedOperationException("a ModuleList has no forward; its owner runs its " + size() + " modules");
    }
}
