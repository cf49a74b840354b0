package org.resnet4j.cli;

import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import picocli.CommandLine.Option;

/** The options every command that builds a model shares. */
final class ModelOptions {
    @Option(names = "--model", required = true, description = "Registered model name (see `resnet4j models`).")
    String model;

    @Option(names = "--classes", description = "Number of classes (default: 1000 for ImageNet models, 10 for CIFAR ones).")
    Integer classes;

    @Option(names = "--in-channels", description = "Input channels (default 3; 1 for Fashion-MNIST).")
    Integer inChannels;

    @Option(names = "--shortcut", description = "CIFAR nets: A (zero-pad identity, default) or B (projection).")
    ModelConfig.Shortcut shortcut;

    Models.Entry entry() {
        return Models.get(model);
    }

    ModelConfig config(Integer inferredClasses, Integer inferredChannels) {
        Models.Entry e = entry();
        int n = classes != null ? classes : inferredClasses != null ? inferredClasses : e.defaultClasses();
        int c = inChannels != null ? inChannels : inferredChannels != null ? inferredChannels : 3;
        ModelConfig cfg = ModelConfig.defaults(n).withInChannels(c);
        return shortcut == null ? cfg : cfg.withShortcut(shortcut);
    }
}
