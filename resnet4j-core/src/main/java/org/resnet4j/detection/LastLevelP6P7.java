package org.resnet4j.detection;

import java.util.List;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.ReluOp;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.Module;

/**
 * torchvision's LastLevelP6P7 (ops/feature_pyramid_network.py), the two extra pyramid levels of
 * RetinaNet (Lin et al. 2017, "Focal Loss for Dense Object Detection", section 4) that FCOS keeps
 * (Tian et al. 2019, section 3.2): P6 = conv3x3/2(P5 or C5), P7 = conv3x3/2(relu(P6)), at strides
 * 64 and 128 for the largest objects. As torchvision 0.14 decides, P6 is computed from P5 when
 * in_channels == out_channels (fcos_resnet50_fpn: LastLevelP6P7(256, 256)) and from C5 otherwise.
 * state_dict: {@code p6.weight}, {@code p6.bias}, {@code p7.weight}, {@code p7.bias}.
 */
public final class LastLevelP6P7 extends Module {
    public final Conv2d p6, p7;
    /** Whether P6 is computed from P5 (the pyramid's last output) rather than C5 (the backbone's). */
    public final boolean usesP5;

    public LastLevelP6P7(int inChannels, int outChannels) {
        p6 = register("p6", new Conv2d(inChannels, outChannels, 3, 2, 1, 1, 1, true));
        p7 = register("p7", new Conv2d(outChannels, outChannels, 3, 2, 1, 1, 1, true));
        initAsTorchvision(p6);
        initAsTorchvision(p7);
        usesP5 = inChannels == outChannels;
    }

    /** As torchvision initializes every conv of its feature pyramid: kaiming_uniform_(a=1) weights, zero biases. */
    static void initAsTorchvision(Conv2d conv) {
        Init.kaimingUniform(conv.weight.value(), 1);
        if (conv.bias != null && !conv.bias.value().isMeta()) conv.bias.value().fill(0f);
    }

    /** Appends P6 and P7 to {@code results} and "p6", "p7" to {@code names}; {@code features} are the pyramid's inputs (C3..C5). */
    void extend(List<Variable> results, List<Variable> features, List<String> names) {
        Variable x = usesP5 ? results.get(results.size() - 1) : features.get(features.size() - 1);
        Variable q6 = p6.call(x);
        Variable q7 = p7.call(ReluOp.apply(q6));
        results.add(q6);
        results.add(q7);
        names.add("p6");
        names.add("p7");
    }

    /** Not a one-input layer: the pyramid calls it with its levels. */
    @Override
    public Variable forward(Variable x) {
        throw new UnsupportedOperationException("LastLevelP6P7 extends a pyramid's levels; it runs inside FeaturePyramidNetwork");
    }

    @Override
    public String describe() {
        return "LastLevelP6P7(" + p6.in + ", " + p6.out + ", from " + (usesP5 ? "P5" : "C5") + ")";
    }
}
