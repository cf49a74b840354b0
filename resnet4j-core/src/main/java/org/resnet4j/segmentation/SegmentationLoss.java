package org.resnet4j.segmentation;

import java.util.Map;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.AddOp;
import org.resnet4j.autograd.ops.LossOps;
import org.resnet4j.tensor.Tensor;

/**
 * The training loss of torchvision's references/segmentation/train.py: per-pixel cross-entropy
 * with ignore_index 255 on {@code out}, plus 0.5 x the same on {@code aux} when the model has the
 * auxiliary head. Long et al. 2015 train FCN with a per-pixel softmax loss; the auxiliary loss on
 * an earlier stage is PSPNet's deep supervision (Zhao et al. 2017), weighted 0.5 as torchvision
 * does. 255 marks the "void" pixels of PASCAL VOC masks (object borders), which count for nothing.
 */
public final class SegmentationLoss {
    /** PASCAL VOC's "void" label, ignored by the loss. */
    public static final int IGNORE_INDEX = 255;
    /** The auxiliary loss's weight in torchvision's reference. */
    public static final float AUX_WEIGHT = 0.5f;

    private SegmentationLoss() {}

    /**
     * criterion(outputs, target) of the reference: outputs as {@link SegmentationModel#forwardAll}
     * returns them ({@code out}, optionally {@code aux}, each [N, C, H, W]), target an [N, H, W]
     * mask of class indices in [0, C) or 255. A class index outside that range, or a mask whose
     * shape is not the outputs', is an IllegalArgumentException naming the value or shape.
     */
    public static Variable criterion(Map<String, Variable> outputs, Tensor target) {
        Variable out = outputs.get("out");
        if (out == null) throw new IllegalArgumentException("segmentation loss: no \"out\" among the outputs " + outputs.keySet());
        for (String k : outputs.keySet()) {
            if (!k.equals("out") && !k.equals("aux")) throw new IllegalArgumentException("segmentation loss: unknown output \"" + k + "\"");
        }
        Variable loss = LossOps.crossEntropyDense(out, target, IGNORE_INDEX, 1f);
        Variable aux = outputs.get("aux");
        return aux == null ? loss : AddOp.apply(loss, LossOps.crossEntropyDense(aux, target, IGNORE_INDEX, AUX_WEIGHT));
    }
}
