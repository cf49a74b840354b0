package org.resnet4j.detection;

import java.util.ArrayList;
import java.util.List;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.ReluOp;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.Sequential;

/**
 * torchvision's FCOSRegressionHead (models/detection/fcos.py): a tower of convs with GroupNorm
 * and ReLU ({@code conv}) shared by two 3x3 convs, {@code bbox_reg} (A * 4 distances l, t, r, b,
 * through a ReLU since distances are not negative; in units of the anchor's size, as
 * BoxLinearCoder(normalize_by_size=True) decodes them) and {@code bbox_ctrness} (A centerness
 * logits). Centerness sits on the regression branch, as in the FCOS paper's later version (Tian et
 * al. 2020, "FCOS: A Simple and Strong Anchor-free Object Detector", section 3.3), not on the
 * classification branch of the 2019 paper. Convs start normal(std 0.01) with zero bias.
 */
public final class FcosRegressionHead extends Module {
    public final Sequential conv;
    public final Conv2d bboxReg, bboxCtrness;
    public final int numAnchors, inChannels;

    /** bbox_regression [N, HWA, 4] and bbox_ctrness [N, HWA, 1], levels concatenated. */
    public record Outputs(Variable bboxRegression, Variable bboxCtrness) {}

    public FcosRegressionHead(int inChannels, int numAnchors, int numConvs) {
        this(inChannels, numAnchors, numConvs, FcosTower.GROUPS);
    }

    /** With {@code groups} GroupNorm groups in the tower (torchvision: 32). */
    public FcosRegressionHead(int inChannels, int numAnchors, int numConvs, int groups) {
        if (numAnchors < 1) throw new IllegalArgumentException("FCOS regression head: num_anchors must be >= 1, got " + numAnchors);
        this.inChannels = inChannels;
        this.numAnchors = numAnchors;
        this.conv = register("conv", FcosTower.tower(inChannels, numConvs, groups));
        this.bboxReg = register("bbox_reg", FcosTower.conv3x3(inChannels, numAnchors * 4, 0f));
        this.bboxCtrness = register("bbox_ctrness", FcosTower.conv3x3(inChannels, numAnchors, 0f));
    }

    public Outputs apply(List<Variable> features) {
        FcosTower.checkFeatures(features, inChannels);
        List<Variable> reg = new ArrayList<>(), ctr = new ArrayList<>();
        for (Variable f : features) {
            Variable t = conv.call(f);
            reg.add(FcosTower.rows(ReluOp.apply(bboxReg.call(t)), 4));
            ctr.add(FcosTower.rows(bboxCtrness.call(t), 1));
        }
        return new Outputs(FcosTower.concat(reg), FcosTower.concat(ctr));
    }

    /** One level's box distances [N, HWA, 4]. */
    @Override
    public Variable forward(Variable x) {
        return apply(List.of(x)).bboxRegression();
    }

    @Override
    public String describe() {
        return "FCOSRegressionHead(" + inChannels + " channels, " + numAnchors + " anchors)";
    }
}
