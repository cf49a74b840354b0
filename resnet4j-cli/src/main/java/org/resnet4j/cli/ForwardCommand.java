package org.resnet4j.cli;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.nn.Module;
import org.resnet4j.segmentation.SegmentationModel;
import org.resnet4j.segmentation.SegmentationModels;
import org.resnet4j.train.SegmentationWeights;
import org.resnet4j.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "forward", mixinStandardHelpOptions = true,
        description = "Run one forward pass on a tensor file (tensor 'input', NCHW) and write tensor 'output'.")
final class ForwardCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--weights", required = true, description = "safetensors file with the model's state_dict (torchvision names).")
    Path weights;

    @Option(names = "--input", required = true, description = "safetensors file holding a tensor named 'input' [N, C, H, W].")
    Path input;

    @Option(names = "--output", required = true, description = "safetensors file to write, with a tensor named 'output'.")
    Path output;

    @Option(names = "--train-mode", description = "Use batch statistics in batch norm, as PyTorch's model.train().")
    boolean trainMode;

    @Override
    public Integer call() throws Exception {
        Map<String, Tensor> state = SafeTensors.read(weights).tensors();
        Map<String, Tensor> in = SafeTensors.read(input).tensors();
        Tensor x = in.get("input");
        if (x == null) {
            var keys = new java.util.ArrayList<>(in.keySet());
            String found = keys.size() <= 8 ? keys.toString() : keys.subList(0, 8) + " and " + (keys.size() - 8) + " more";
            throw new IllegalArgumentException(input + ": no tensor named 'input' (found " + found + ")");
        }
        if (x.rank() != 4) throw new IllegalArgumentException(input + ": 'input' must be NCHW, got shape " + x.shapeString());
        if (SegmentationModels.all().containsKey(modelOptions.model)) return segmentation(state, x);
        // Classes and input channels follow the weights unless given: the head and the stem say them.
        ModelConfig cfg = modelOptions.config(dim0(state, "fc.weight"), dim(state, 1, "conv1.weight", "stem.0.weight"));
        Module model = modelOptions.entry().create(cfg);
        try {
            model.loadStateDict(state, true);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(weights + ": " + e.getMessage());
        }
        model.train(trainMode);
        Tensor y;
        try (var g = GradMode.noGrad()) {
            y = model.call(Variable.constant(x)).value();
        }
        SafeTensors.write(output, Map.of("output", y), Map.of("model", modelOptions.model, "mode", trainMode ? "train" : "eval"));
        System.out.printf("%s: input %s -> output %s written to %s%n", modelOptions.model, x.shapeString(), y.shapeString(), output);
        return 0;
    }

    /** A segmenter: tensors 'out' and (with the auxiliary head) 'aux', both at the input's size, and 'output' = 'out'. */
    private int segmentation(Map<String, Tensor> state, Tensor x) throws java.io.IOException {
        SegmentationModel model = SegmentationWeights.forStateDict(modelOptions.model, state, weights);
        model.train(trainMode);
        Map<String, Tensor> outs = new java.util.LinkedHashMap<>();
        try (var g = GradMode.noGrad()) {
            model.forwardAll(Variable.constant(x)).forEach((k, v) -> outs.put(k, v.value()));
        }
        outs.put("output", outs.get("out"));
        SafeTensors.write(output, outs, Map.of("model", modelOptions.model, "mode", trainMode ? "train" : "eval"));
        System.out.printf("%s: input %s -> out %s%s written to %s%n", modelOptions.model, x.shapeString(), outs.get("out").shapeString(),
                outs.containsKey("aux") ? ", aux " + outs.get("aux").shapeString() : "", output);
        return 0;
    }

    private static Integer dim0(Map<String, Tensor> state, String key) {
        return dim(state, 0, key);
    }

    private static Integer dim(Map<String, Tensor> state, int axis, String... keys) {
        for (String k : keys) {
            Tensor t = state.get(k);
            if (t != null && t.rank() > axis) return t.dim(axis);
        }
        return null;
    }
}
