package org.resnet4j.examples;

import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.models.ResNet;
import org.resnet4j.models.Summary;
import org.resnet4j.nn.Module;

/** A model by its torchvision name, and the same architecture by its constructor. */
public class BuildModels {
    public static void main(String[] args) {
        // torchvision.models.resnet50(): by name from the registry (29 models: models --list)
        Module byName = Models.create("resnet50");
        // ResNet(Bottleneck, [3, 4, 6, 3]) with 10 classes and 1-channel input, built directly
        Module byConstructor = new ResNet(ResNet.Block.BOTTLENECK, new int[] {3, 4, 6, 3}, 1, 64,
                ModelConfig.defaults(10).withInChannels(1));
        System.out.printf("resnet50: %,d parameters%n", byName.parameterCount());
        System.out.printf("ResNet(Bottleneck, [3, 4, 6, 3]), 10 classes, 1 channel: %,d parameters%n", byConstructor.parameterCount());
        Summary s = Summary.of(Models.create("resnet18"), 1, 3, 224, 224);
        System.out.printf("resnet18 at 224x224: %.2f GFLOPs, output %s%n", s.gflops(), java.util.Arrays.toString(s.outputShape()));
        if (byName.parameterCount() != 25_557_032L) throw new AssertionError("resnet50 should have torchvision's 25,557,032 parameters");
    }
}
