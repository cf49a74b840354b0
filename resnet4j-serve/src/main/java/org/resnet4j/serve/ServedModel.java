package org.resnet4j.serve;

import java.util.Arrays;
import java.util.Objects;
import org.resnet4j.train.Predictor;

/**
 * A model as the server offers it: its predictor (preprocessing, labels, batched forward) and the
 * shape of one preprocessed input, [C, H, W], which the Open Inference Protocol's tensors must have.
 *
 * @param name the name in URLs ({@code /v2/models/{name}})
 * @param predictor preprocessing, class labels and the batched forward
 * @param inputShape one input's [C, H, W] after preprocessing
 */
public record ServedModel(String name, Predictor predictor, int[] inputShape) {
    public ServedModel {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(predictor, "predictor");
        if (!name.matches("[A-Za-z0-9_.-]+")) throw new IllegalArgumentException("model name must be [A-Za-z0-9_.-]+, got '" + name + "'");
        if (inputShape.length != 3) throw new IllegalArgumentException("input shape must be [C, H, W], got " + Arrays.toString(inputShape));
        inputShape = inputShape.clone();
    }

    @Override
    public int[] inputShape() {
        return inputShape.clone();
    }
}
