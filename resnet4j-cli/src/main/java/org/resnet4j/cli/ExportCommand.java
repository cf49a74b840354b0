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
import org.resnet4j.segmentation.SegmentationModel;
import org.resnet4j.segmentation.SegmentationModels;
import org.resnet4j.train.SegmentationWeights;
import org.resnet4j.train.Transfer;
import org.resnet4j.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Export a model (eval mode) to ONNX, opset 17: input 'input' [N, C, S, S], output 'output' [N, classes];",
                "a segmentation model (fcn_*, deeplabv3_*) has outputs 'out' and, with the auxiliary head, 'aux', [N, classes, S, S]."})
final class ExportCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--weights", description = "safetensors file with the model's state_dict (torchvision names; a segmentation "
            + "model also takes a .pth or a checkpoint, and its classes and auxiliary head come from it); "
            + "without it the model is exported freshly initialized.")
    Path weights;

    @Option(names = "--aux", description = "Segmentation models without --weights: build the auxiliary head, exported as output 'aux'.")
    boolean aux;

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
        if (SegmentationModels.all().containsKey(modelOptions.model)) return segmentation();
        if (aux) throw new IllegalArgumentException("--aux is for segmentation models; " + modelOptions.model + " is a classifier");
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

    private int segmentation() throws Exception {
        String name = modelOptions.model;
        SegmentationModels.Entry e = SegmentationModels.get(name);
        if (modelOptions.shortcut != null) throw new IllegalArgumentException("--shortcut is for the CIFAR nets, not " + name);
        SegmentationModel model;
        int channels = 3; // forStateDict builds RGB models, as torchvision's weights are
        if (weights != null) {
            if (aux || modelOptions.classes != null || modelOptions.inChannels != null) {
                throw new IllegalArgumentException("--aux, --classes and --in-channels come from --weights for " + name);
            }
            model = SegmentationWeights.forStateDict(name, Transfer.readStateDict(weights), weights);
        } else {
            int classes = modelOptions.classes != null ? modelOptions.classes : e.defaultClasses();
            if (modelOptions.inChannels != null) channels = modelOptions.inChannels;
            model = e.create(new SegmentationModels.Config(classes, aux, channels));
        }
        int s = size != null ? size : e.defaultSize();
        if (s < 1) throw new IllegalArgumentException("--size must be >= 1, got " + s);
        Onnx.export(model, new int[] {1, channels, s, s}, output, new Onnx.Options(!noFoldBn, !staticBatch));
        String n = staticBatch ? "1" : Onnx.BATCH_SYMBOL;
        String shape = String.format("[%s, %d, %d, %d]", n, model.classes(), s, s);
        System.out.printf("%s: input [%s, %d, %d, %d] -> %s %s%s, opset %d, batch norm %s, %.1f MB written to %s%n",
                name, n, channels, s, s, Onnx.SEGMENTATION_OUT, shape, model.hasAux() ? ", " + Onnx.SEGMENTATION_AUX + " " + shape : "",
                Onnx.OPSET_VERSION, noFoldBn ? "kept" : "folded", Files.size(output) / 1e6, output);
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
