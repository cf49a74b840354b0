package org.resnet4j.nn;

import org.resnet4j.autograd.Variable;
import org.resnet4j.tensor.Tensor;

/** A trainable tensor owned by a {@link Module}; a leaf of the autograd graph. */
public final class Parameter extends Variable {
    public Parameter(Tensor value) {
        super(value, true);
    }
}
