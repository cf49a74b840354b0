package org.resnet4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import org.resnet4j.io.onnx.Onnx;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Export a model (eval mode) to ONNX, opset 17: input 'input' [N, C, S, S], output 'output' [N, classes].")
final class ExportCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--weights", description = "safetensors file with the model's state_dict (torchvision names); "
            + "without it the model is exported freshly initialized.")
    Path weights;

    @Option(names = "--size", description = "Input height and width (default: the model's, 224 or 32).")
    Integer size;

    @Option(names = "--no-fold-bn", description = "Keep batch norms as BatchNormalization nodes instead of folding them into the convs.")
    boolean noFoldBn;

    @Option(names = "--static-batch", description = "Fix the batch dimension at 1 instead of the symbolic N.")
    boolean staticBatch;

    @Option(names = "--output", required = true, description = "ONNX file to write.")
    Path output;

    @Override
    public Integer call() throws Exception {
        Models.Entry e = modelOptions.entry();
        Map<String, Tensor> state = weights == null ? null : SafeTensors.read(weights).tensors();
        // As in `forward`: classes and input channels follow the weights unless given.
        ModelConfig cfg = state == null ? modelOptions.config(null, null)
                : modelOptions.config(dim(state, 0, "fc.weight"), dim(state, 1, "conv1.weight", "stem.0.weight"));
        Module model = e.create(cfg);
        if (state != null) {
            try {
                model.loadStateDict(state, true);
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(weights + ": " + ex.getMessage());
            }
        }
        int s = size != null ? size : e.defaultSize();
        if (s < 1) throw new IllegalArgumentException("--size must be >= 1, got " + s);
        Onnx.Options opts = new Onnx.Options(!noFoldBn, !staticBatch);
        Onnx.export(model, new int[] {1, cfg.inChannels(), s, s}, output, opts);
        String n = staticBatch ? "1" : Onnx.BATCH_SYMBOL;
        System.out.printf("%s: input [%s, %d, %d, %d] -> output [%s, %d], opset %d, batch norm %s, %.1f MB written to %s%n",
                e.name(), n, cfg.inChannels(), s, s, n, cfg.numClasses(), Onnx.OPSET_VERSION,
                noFoldBn ? "kept" : "folded", Files.size(output) / 1e6, output);
        return 0;
    }

    private static Integer dim(Map<String, Tensor> state, int axis, String... keys) {
        for (String k : keys) {
            Tensor t = state.get(k);
            if (t != null && t.rank() > axis) return t.dim(axis);
        }
        return null;
    }
}
