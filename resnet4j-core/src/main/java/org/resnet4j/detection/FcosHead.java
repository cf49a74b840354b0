package org.resnet4j.detection;

import java.util.List;
import org.resnet4j.autograd.Variable;
import org.resnet4j.nn.Module;

/**
 * torchvision's FCOSHead: {@code classification_head} ({@link FcosClassificationHead}) and
 * {@code regression_head} ({@link FcosRegressionHead}), both run on every pyramid level with the
 * same weights (Tian et al. 2019, section 3.2: sharing the head across levels makes it
 * parameter-efficient). State_dict under the model's {@code head.}:
 * {@code head.classification_head.conv.{0,3,6,9}.{weight,bias}} (convs),
 * {@code head.classification_head.conv.{1,4,7,10}.{weight,bias}} (GroupNorm),
 * {@code head.classification_head.cls_logits.{weight,bias}}, the same towers under
 * {@code head.regression_head.conv}, then {@code head.regression_head.bbox_reg.*} and
 * {@code head.regression_head.bbox_ctrness.*}.
 */
public final class FcosHead extends Module {
    public final FcosClassificationHead classificationHead;
    public final FcosRegressionHead regressionHead;

    /** The three outputs, each [N, HWA, *] with the levels concatenated (torchvision's head_outputs dict). */
    public record Outputs(Variable clsLogits, Variable bboxRegression, Variable bboxCtrness) {}

    public FcosHead(int inChannels, int numAnchors, int numClasses, int numConvs) {
        this(inChannels, numAnchors, numClasses, numConvs, FcosTower.GROUPS);
    }

    /** With {@code groups} GroupNorm groups in each tower (torchvision: 32). */
    public FcosHead(int inChannels, int numAnchors, int numClasses, int numConvs, int groups) {
        this.classificationHead = register("classification_head", new FcosClassificationHead(inChannels, numAnchors, numClasses, numConvs, groups));
        this.regressionHead = register("regression_head", new FcosRegressionHead(inChannels, numAnchors, numConvs, groups));
    }

    /** torchvision's defaults: 4 convs per tower. */
    public FcosHead(int inChannels, int numAnchors, int numClasses) {
        this(inChannels, numAnchors, numClasses, 4);
    }

    public Outputs apply(List<Variable> features) {
        Variable cls = classificationHead.apply(features);
        FcosRegressionHead.Outputs reg = regressionHead.apply(features);
        return new Outputs(cls, reg.bboxRegression(), reg.bboxCtrness());
    }

    /** One level's class logits. */
    @Override
    public Variable forward(Variable x) {
        return classificationHead.forward(x);
    }

    public int numClasses() {
        return classificationHead.numClasses;
    }

    @Override
    public String describe() {
        return "FCOSHead(" + classificationHead.describe() + ", " + regressionHead.describe() + ")";
    }
}
