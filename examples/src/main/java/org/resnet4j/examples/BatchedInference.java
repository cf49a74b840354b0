package org.resnet4j.examples;

import java.nio.file.Path;
import java.util.List;
import org.resnet4j.models.Models;
import org.resnet4j.train.Predictor;
import org.resnet4j.train.TrainedModel;

/**
 * Classifying image files in batches: decode, preprocess (torchvision's eval transform for an
 * ImageNet model, the run's own for a resnet4j checkpoint), stack into batches of 8, softmax,
 * top-k. With a checkpoint argument (e.g. runs/finetune/checkpoints/best.safetensors) its model and
 * class names are used; without, resnet18 with random weights and ImageNet's class names.
 */
public class BatchedInference {
    public static void main(String[] args) throws Exception {
        Predictor predictor = args.length > 0
                ? Predictor.of(TrainedModel.load(Path.of(args[0])), 8)
                : Predictor.imagenet(Models.create("resnet18"), 8);
        List<Path> files = ExampleData.images(Path.of("to-classify"), 10, 64);

        List<List<Predictor.Scored>> results = predictor.classifyFiles(files, 3);
        for (int i = 0; i < files.size(); i++) {
            StringBuilder line = new StringBuilder(files.get(i).getFileName().toString());
            for (Predictor.Scored s : results.get(i)) line.append(String.format("  %s %.1f%%", s.label(), 100 * s.probability()));
            System.out.println(line);
        }
    }
}
