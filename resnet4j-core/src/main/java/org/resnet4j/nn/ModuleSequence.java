package org.resnet4j.nn;

/**
 * Children named "0", "1", ... in the order they were added: the layout torch.nn.Sequential and
 * torch.nn.ModuleList share, so both give the same state_dict keys ({@code layer1.0.conv1.weight},
 * {@code convs.2.0.weight}). What a subclass adds is whether and how the children run:
 * {@link Sequential} chains them, {@link ModuleList} leaves that to its owner.
 */
public abstract class ModuleSequence extends Module {
    private int count;

    /** Registers {@code m} under the next index. */
    protected final void append(Module m) {
        register(Integer.toString(count++), m);
    }

    /** How many modules were added. */
    public final int size() {
        return count;
    }

    /** The module added {@code i}-th (from 0). */
    public final Module get(int i) {
        Module m = children().get(Integer.toString(i));
        if (m == null) throw new IndexOutOfBoundsException(getClass().getSimpleName() + " has " + count + " modules, asked for " + i);
        return m;
    }

    @Override
    public String describe() {
        return getClass().getSimpleName() + "(" + count + ")";
    }
}
