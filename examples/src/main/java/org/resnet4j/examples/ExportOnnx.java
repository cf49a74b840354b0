package org.resnet4j.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import org.resnet4j.io.onnx.Onnx;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Module;

/**
 * A model as an ONNX file (opset 17) for ONNX Runtime, TensorRT or a browser: batch norms folded
 * into the convolutions and a symbolic batch dimension, like torch.onnx.export with
 * dynamic_axes={"input": {0: "N"}}.
 */
public class ExportOnnx {
    public static void main(String[] args) throws Exception {
        Module model = Models.create("resnet18");
        Path file = Path.of("resnet18.onnx");
        Onnx.export(model, new int[] {-1, 3, 224, 224}, file, Onnx.Options.defaults());
        System.out.printf("wrote %s: %,d bytes, input \"%s\" [N, 3, 224, 224], output \"%s\" [N, 1000]%n",
                file, Files.size(file), Onnx.INPUT, Onnx.OUTPUT);
    }
}
