package org.resnet4j.cli;

import org.resnet4j.io.json.Json;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.data.ImageFolder;
import org.resnet4j.data.Presets;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.models.FeatureExtractor;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.DataSources;
import org.resnet4j.train.TrainedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "embed", mixinStandardHelpOptions = true,
        description = {"One embedding per image (the globally pooled features before the classifier), written as the",
                "tensor 'embeddings' [N, D] of a safetensors file whose metadata lists the images in order."})
final class EmbedCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", description = "A checkpoint written by `resnet4j train`.") Path checkpoint;
    @Option(names = "--model", description = "With --weights: a registered model name.") String model;
    @Option(names = "--weights", description = "With --model: a state_dict (.pth or .safetensors).") Path weights;
    @Option(names = "--output", required = true, description = "safetensors file to write.") Path output;
    @Parameters(arity = "1..*", paramLabel = "IMAGE") List<Path> images;

    @Option(names = "--max-image-pixels", defaultValue = "89478485",
            description = "Refuse images whose header declares more pixels (default ${DEFAULT-VALUE}, PIL's MAX_IMAGE_PIXELS).") long maxImagePixels;

    @Override
    public Integer call() throws Exception {
        org.resnet4j.data.ImageDecoder.setMaxPixels(maxImagePixels);
        if ((checkpoint == null) == (weights == null || model == null)) {
            throw new IllegalArgumentException("give either --checkpoint C, or --model NAME and --weights W");
        }
        Module net;
        int channels, size;
        String data;
        if (checkpoint != null) {
            TrainedModel tm = TrainedModel.load(checkpoint);
            net = tm.model();
            channels = tm.inChannels();
            size = tm.imageSize();
            data = tm.config().data;
        } else {
            TrainedModel tm = TrainedModel.fromWeights(model, weights, null);
            net = tm.model();
            channels = tm.inChannels();
            size = tm.imageSize();
            data = size == 224 ? null : "cifar10";
        }
        net.eval();
        FeatureExtractor fx = new FeatureExtractor(net, List.of("avgpool"));
        List<String> names = new ArrayList<>();
        List<float[]> rows = new ArrayList<>();
        for (Path file : images) {
            Tensor img = ImageFolder.decode(file, channels);
            Tensor x = data == null ? Presets.imagenetEval().apply(img, null) : DataSources.predictTransform(data, channels, size).apply(img, null);
            try (var g = GradMode.noGrad()) {
                Tensor e = fx.apply(Variable.constant(x.reshape(1, x.dim(0), x.dim(1), x.dim(2)))).get("avgpool").value();
                rows.add(e.data().clone());
            }
            names.add(file.toString());
        }
        int d = rows.get(0).length;
        Tensor out = Tensor.zeros(rows.size(), d);
        for (int i = 0; i < rows.size(); i++) System.arraycopy(rows.get(i), 0, out.data(), i * d, d);
        SafeTensors.write(output, Map.of("embeddings", out), Map.of("images", Json.write(names)));
        System.out.printf("%d embeddings of dimension %d -> %s%n", rows.size(), d, output);
        return 0;
    }
}
