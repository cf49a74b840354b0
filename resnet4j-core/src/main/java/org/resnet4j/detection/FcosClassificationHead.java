package org.resnet4j.detection;

import java.util.ArrayList;
import java.util.List;
import org.resnet4j.autograd.Variable;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.Sequential;

/**
 * torchvision's FCOSClassificationHead (models/detection/fcos.py): a tower of convs with
 * GroupNorm and ReLU ({@code conv}) and a 3x3 conv to A * K class logits ({@code cls_logits}),
 * shared by every pyramid level (Tian et al. 2019, section 3.2). {@code cls_logits}'s bias starts
 * at -log((1 - 0.01) / 0.01), so that every anchor begins with probability 0.01 for each class
 * (Lin et al. 2017, section 4.1, "Initialization": without it the many background anchors swamp
 * the focal loss in the first iterations). Output [N, sum of H * W * A over levels, K].
 */
public final class FcosClassificationHead extends Module {
    /** The prior probability the logits' bias starts at (torchvision's prior_probability). */
    public static final double PRIOR_PROBABILITY = 0.01;
    public final Sequential conv;
    public final Conv2d clsLogits;
    public final int numClasses, numAnchors, inChannels;

    public FcosClassificationHead(int inChannels, int numAnchors, int numClasses, int numConvs) {
        this(inChannels, numAnchors, numClasses, numConvs, FcosTower.GROUPS);
    }

    /** With {@code groups} GroupNorm groups in the tower (torchvision: 32). */
    public FcosClassificationHead(int inChannels, int numAnchors, int numClasses, int numConvs, int groups) {
        if (numClasses < 1 || numAnchors < 1) {
            throw new IllegalArgumentException("FCOS classification head: num_classes " + numClasses + " and num_anchors "
                    + numAnchors + " must be >= 1");
        }
        this.inChannels = inChannels;
        this.numClasses = numClasses;
        this.numAnchors = numAnchors;
        this.conv = register("conv", FcosTower.tower(inChannels, numConvs, groups));
        float bias = (float) -Math.log((1 - PRIOR_PROBABILITY) / PRIOR_PROBABILITY);
        this.clsLogits = register("cls_logits", FcosTower.conv3x3(inChannels, numAnchors * numClasses, bias));
    }

    /** The class logits of every level's anchors, [N, HWA, K], levels in the order given. */
    public Variable apply(List<Variable> features) {
        FcosTower.checkFeatures(features, inChannels);
        List<Variable> levels = new ArrayList<>();
        for (Variable f : features) levels.add(FcosTower.rows(clsLogits.call(conv.call(f)), numClasses));
        return FcosTower.concat(levels);
    }

    /** One level: [N, HWA, K]. */
    @Override
    public Variable forward(Variable x) {
        return apply(List.of(x));
    }

    @Override
    public String describe() {
        return "FCOSClassificationHead(" + inChannels + " channels, " + numAnchors + " anchors, " + numClasses + " classes)";
    }
}
