package org.resnet4j.cli;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.Module;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "init", mixinStandardHelpOptions = true,
        description = "Write a freshly initialized model's state_dict (torchvision names) to a safetensors file.")
final class InitCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--output", required = true, description = "safetensors file to write.")
    Path output;

    @Option(names = "--seed", defaultValue = "0", description = "Initialization seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--zero-init-residual", description = "Start each residual branch's last BN at gamma 0.")
    boolean zeroInitResidual;

    @Override
    public Integer call() throws Exception {
        Init.manualSeed(seed);
        Module model = modelOptions.entry().create(modelOptions.config(null, null).withZeroInitResidual(zeroInitResidual));
        SafeTensors.write(output, model.stateDict(), Map.of("model", modelOptions.model, "seed", Long.toString(seed)));
        System.out.printf("%s: %,d parameters, %d tensors written to %s%n", modelOptions.model, model.parameterCount(),
                model.stateDict().size(), output);
        return 0;
    }
}
