package org.resnet4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.resnet4j.train.Predictor;
import org.resnet4j.train.TrainedModel;
import picocli.CommandLine.Option;

/** Where a classifying command gets its model: a training checkpoint, or a model name and weights. */
class ClassifierSource {
    @Option(names = "--checkpoint", description = "A checkpoint written by `resnet4j train`.") Path checkpoint;
    @Option(names = "--model", description = "With --weights: a registered model name.") String model;
    @Option(names = "--weights", description = "With --model: a state_dict (.pth from torch.save, or .safetensors).") Path weights;
    @Option(names = {"--class-names", "--labels"}, description = "With --weights: a text file, one class name per line (default: ImageNet's for 1000 classes).") Path classNames;

    /** The model, after checking that exactly one source was given. */
    TrainedModel load() throws IOException {
        if ((checkpoint == null) == (weights == null || model == null)) {
            throw new IllegalArgumentException("give either --checkpoint C, or --model NAME and --weights W");
        }
        if (checkpoint != null) return TrainedModel.load(checkpoint);
        List<String> names = classNames == null ? null : Files.readAllLines(classNames).stream().filter(l -> !l.isBlank()).toList();
        return TrainedModel.fromWeights(model, weights, names);
    }

    /** Trained checkpoints take their run's own preprocessing; weights their model's (torchvision's for ImageNet sizes). */
    Predictor predictor(TrainedModel tm, int batchSize) {
        return checkpoint != null ? Predictor.of(tm, batchSize) : Predictor.forModel(tm, batchSize);
    }
}
