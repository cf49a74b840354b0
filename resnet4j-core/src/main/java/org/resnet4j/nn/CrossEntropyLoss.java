package org.resnet4j.nn;

import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.LossOps;

/** torch.nn.CrossEntropyLoss over [N, C] logits and class indices, mean reduction, optional label smoothing. */
public final class CrossEntropyLoss {
    private final float labelSmoothing;

    public CrossEntropyLoss() {
        this(0f);
    }

    public CrossEntropyLoss(float labelSmoothing) {
        this.labelSmoothing = labelSmoothing;
    }

    public Variable apply(Variable logits, int[] targets) {
        return LossOps.crossEntropy(logits, targets, labelSmoothing);
    }
}
