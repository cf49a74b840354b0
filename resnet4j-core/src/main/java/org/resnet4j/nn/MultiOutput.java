package org.resnet4j.nn;

import java.util.LinkedHashMap;
import org.resnet4j.autograd.Variable;

/**
 * A model with several named outputs, as torchvision's dense models return a dict: a segmenter's
 * {@code out} and {@code aux}, a feature pyramid's levels, a detector head's per-level maps.
 * {@link Module#forward} still returns one tensor (the first output here), so everything built
 * for one output (the predictor, {@code forward}, summaries, ONNX) keeps working; code that knows
 * the model is dense asks for all of them. A classifier is the one-output case and needs nothing.
 */
public interface MultiOutput {
    /** Every output by name, in a fixed order; the first is the one {@code forward} returns. */
    LinkedHashMap<String, Variable> forwardAll(Variable x);
}
