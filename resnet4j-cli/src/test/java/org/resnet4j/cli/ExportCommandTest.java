package org.resnet4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.io.onnx.OnnxExportTest;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.testing.Cli;

/** `export` on a weights file: the ONNX file it writes runs in ONNX Runtime as the model does. */
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
}
