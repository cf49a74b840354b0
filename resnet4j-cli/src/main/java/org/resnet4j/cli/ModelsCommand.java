package org.resnet4j.cli;

import java.util.concurrent.Callable;
import org.resnet4j.models.Models;
import org.resnet4j.models.Summary;
import org.resnet4j.nn.Module;
import picocli.CommandLine.Command;

@Command(name = "models", mixinStandardHelpOptions = true,
        description = "List every registered model with its parameter count and GFLOPs at its default input size.")
final class ModelsCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.out.printf("%-20s %-22s %8s %14s %9s%n", "model", "family", "input", "params", "GFLOPs");
        for (Models.Entry e : Models.all().values()) {
            Module m = e.createMeta(org.resnet4j.models.ModelConfig.defaults(e.defaultClasses()));
            Summary s = Summary.of(m, 1, 3, e.defaultSize(), e.defaultSize());
            System.out.printf("%-20s %-22s %8s %,14d %9.2f%n", e.name(), e.family(),
                    "3x" + e.defaultSize() + "x" + e.defaultSize(), s.params(), s.gflops());
        }
        System.out.println("GFLOPs = 2 x multiply-accumulates of one forward pass of one image "
                + "(torchvision's tables quote multiply-accumulates, i.e. half these figures).");
        return 0;
    }
}
