package org.resnet4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.io.onnx.OnnxExportTest;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.Module;
import org.resnet4j.segmentation.SegmentationModel;
import org.resnet4j.segmentation.SegmentationModels;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.testing.Cli;

/** `export` on a weights file (a classifier's, a segmenter's): the ONNX file it writes runs in ONNX Runtime as the model does. */
class ExportCommandTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void start() throws Exception {
        OnnxExportTest.startRuntime();
    }

    @AfterAll
    static void stop() {
        OnnxExportTest.stopRuntime();
    }

    @Test
    void exportCommandTakesClassesAndChannelsFromTheWeights() throws Exception {
        Init.manualSeed(8);
        Module model = Models.create("resnet8", ModelConfig.defaults(7).withInChannels(1));
        OnnxExportTest.randomizeBatchNorms(model, 80);
        Path weights = dir.resolve("w.safetensors"), file = dir.resolve("cli.onnx");
        SafeTensors.write(weights, model.stateDict(), null);
        Cli.Run r = Cli.run("export", "--model", "resnet8", "--weights", weights.toString(), "--size", "28",
                "--static-batch", "--no-fold-bn", "--output", file.toString());
        assertEquals(0, r.code(), r.err());
        model.eval();
        Tensor x = Tensor.randn(11, 1, 1, 28, 28);
        OnnxExportTest.assertClose(OnnxExportTest.forward(model, x), OnnxExportTest.runOrt(file, x, new long[] {1, 7}), "cli export");
        assertTrue(OnnxExportTest.opTypes(file).contains("BatchNormalization"));
    }

    @Test
    void aSegmentationModelIsExportedWithOutAndAuxFromItsWeights() throws Exception {
        Init.manualSeed(9);
        SegmentationModel model = SegmentationModels.create("deeplabv3_resnet18", 4, true);
        OnnxExportTest.randomizeBatchNorms(model, 90);
        Path weights = dir.resolve("seg.safetensors"), file = dir.resolve("seg.onnx");
        SafeTensors.write(weights, model.stateDict(), null);
        Cli.Run r = Cli.run("export", "--model", "deeplabv3_resnet18", "--weights", weights.toString(), "--size", "40",
                "--output", file.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("out [N, 4, 40, 40], aux [N, 4, 40, 40]"), r.out());
        model.eval();
        Tensor x = Tensor.randn(12, 1, 3, 40, 40);
        Map<String, Tensor> ort = OnnxExportTest.runOrtAll(file, x);
        LinkedHashMap<String, Variable> ours;
        try (var _ = GradMode.noGrad()) {
            ours = model.forwardAll(Variable.constant(x));
        }
        assertEquals(List.of("out", "aux"), List.copyOf(ort.keySet()));
        for (String k : ours.keySet()) OnnxExportTest.assertClose(ours.get(k).value(), ort.get(k).data(), "cli export " + k);

        Cli.Run wrong = Cli.run("export", "--model", "deeplabv3_resnet18", "--weights", weights.toString(), "--classes", "3",
                "--output", file.toString());
        assertEquals(2, wrong.code());
        assertTrue(wrong.err().contains("come from --weights"), wrong.err());
    }
}
