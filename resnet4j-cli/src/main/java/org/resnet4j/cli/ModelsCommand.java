package org.resnet4j.cli;

import java.util.concurrent.Callable;
import org.resnet4j.models.Models;
import org.resnet4j.models.Summary;
import org.resnet4j.nn.Module;
import org.resnet4j.segmentation.SegmentationModels;
import picocli.CommandLine.Command;

@Command(name = "models", mixinStandardHelpOptions = true,
        description = "List every registered model with its parameter count and GFLOPs at its default input size.")
final class ModelsCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.out.printf("%-20s %-23s %9s %14s %9s%n", "model", "family", "input", "params", "GFLOPs");
        for (Models.Entry e : Models.all().values()) {
            Module m = e.createMeta(org.resnet4j.models.ModelConfig.defaults(e.defaultClasses()));
            Summary s = Summary.of(m, 1, 3, e.defaultSize(), e.defaultSize());
            System.out.printf("%-20s %-23s %9s %,14d %9.2f%n", e.name(), e.family(),
                    "3x" + e.defaultSize() + "x" + e.defaultSize(), s.params(), s.gflops());
        }
        for (SegmentationModels.Entry e : SegmentationModels.all().values()) {
            // with the auxiliary head, as torchvision counts its published segmentation weights
            Module m = e.createMeta(new SegmentationModels.Config(e.defaultClasses(), true, 3));
            Summary s = Summary.of(m, 1, 3, e.defaultSize(), e.defaultSize());
            System.out.printf("%-20s %-23s %9s %,14d %9.2f%n", e.name(), "segmentation: " + e.family(),
                    "3x" + e.defaultSize() + "x" + e.defaultSize(), s.params(), s.gflops());
        }
        System.out.println("Segmentation models: parameters with the auxiliary head (torchvision's counts), GFLOPs of the main output.");
        System.out.println("GFLOPs = 2 x multiply-accumulates of one forward pass of one image "
                + "(torchvision's tables quote multiply-accumulates, i.e. half these figures).");
        return 0;
    }
}
