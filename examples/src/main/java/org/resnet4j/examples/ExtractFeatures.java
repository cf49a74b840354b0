package org.resnet4j.examples;

import java.util.Arrays;
import java.util.Map;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.models.FeatureExtractor;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;

/**
 * The C2..C5 feature maps and the pooled embedding of a ResNet in one forward pass, as
 * torchvision's create_feature_extractor(model, return_nodes=[...]) gives them: what a feature
 * pyramid, a detector or a nearest-neighbour search consumes.
 */
public class ExtractFeatures {
    public static void main(String[] args) {
        Module model = Models.create("resnet50").eval();
        FeatureExtractor features = FeatureExtractor.backbone(model); // layer1..layer4, avgpool
        Tensor images = Tensor.uniform(7, 0, 1, 2, 3, 224, 224);     // a batch of 2 (normalised images in practice)
        Map<String, Variable> out;
        try (var noGrad = GradMode.noGrad()) {
            out = features.apply(Variable.constant(images));
        }
        out.forEach((name, v) -> System.out.printf("%-8s %s%n", name, Arrays.toString(v.value().shape())));
        if (out.get("layer4").value().dim(1) != 2048) throw new AssertionError("resnet50's C5 has 2048 channels");
    }
}
