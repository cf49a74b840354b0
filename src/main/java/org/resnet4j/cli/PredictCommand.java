package org.resnet4j.cli;

import com.google.gson.GsonBuilder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.data.ImageFolder;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.data.Presets;
import org.resnet4j.models.Models;
import org.resnet4j.train.DataSources;
import org.resnet4j.train.TrainedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "predict", mixinStandardHelpOptions = true,
        description = {"Classify image files: top-k classes with probabilities, from a training checkpoint",
                "(--checkpoint) or from weights (--model NAME --weights W.pth|W.safetensors; ImageNet models use",
                "torchvision's eval preprocessing and class names)."})
final class PredictCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", description = "A checkpoint written by `resnet4j train`.") Path checkpoint;
    @Option(names = "--model", description = "With --weights: a registered model name.") String model;
    @Option(names = "--weights", description = "With --model: a state_dict (.pth from torch.save, or .safetensors).") Path weights;
    @Option(names = "--class-names", description = "With --weights: a text file, one class name per line (default: ImageNet's for 1000 classes).") Path classNames;
    @Option(names = "--top", defaultValue = "5", description = "How many classes to show (default ${DEFAULT-VALUE}).") int top;
    @Option(names = "--json") boolean json;
    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "JPEG/PNG/BMP/GIF files.") List<Path> images;
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if ((checkpoint == null) == (weights == null || model == null)) {
            throw new IllegalArgumentException("give either --checkpoint C, or --model NAME and --weights W");
        }
        TrainedModel tm = checkpoint != null ? TrainedModel.load(checkpoint) : fromWeights();
        // ImageNet-size models take torchvision's eval preprocessing; trained checkpoints their own
        boolean imagenet = checkpoint == null && Models.get(model).defaultSize() == 224;
        List<Map<String, Object>> all = new ArrayList<>();
        int failed = 0;
        for (Path file : images) {
            Tensor img;
            try {
                img = ImageFolder.decode(file, tm.inChannels());
            } catch (java.io.IOException e) {
                spec.commandLine().getErr().println("error: " + e.getMessage()); // the others are still answered
                spec.commandLine().getErr().flush();
                failed++;
                continue;
            }
            Tensor x;
            if (imagenet) {
                x = Presets.imagenetEval().apply(img, null);
            } else {
                // the training run's own evaluation preprocessing
                x = DataSources.predictTransform(checkpoint != null ? tm.config().data : "cifar10", tm.inChannels(), tm.imageSize()).apply(img, null);
            }
            float[] logits;
            try (var g = GradMode.noGrad()) {
                logits = tm.model().call(Variable.constant(x.reshape(1, x.dim(0), x.dim(1), x.dim(2)))).value().data();
            }
            double[] p = softmax(logits);
            Integer[] order = new Integer[p.length];
            for (int i = 0; i < p.length; i++) order[i] = i;
            java.util.Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
            List<Map<String, Object>> ranked = new ArrayList<>();
            for (int k = 0; k < Math.min(top, p.length); k++) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("class", tm.classes().get(order[k]));
                r.put("index", order[k]);
                r.put("probability", p[order[k]]);
                ranked.add(r);
            }
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("image", file.toString());
                m.put("top", ranked);
                all.add(m);
            } else {
                System.out.println(file + ":");
                for (Map<String, Object> r : ranked) {
                    System.out.printf(Locale.ROOT, "  %6.2f%%  %s%n", 100 * (Double) r.get("probability"), r.get("class"));
                }
            }
        }
        if (json) System.out.println(new GsonBuilder().create().toJson(all));
        return failed == 0 ? 0 : 2;
    }

    private TrainedModel fromWeights() throws java.io.IOException {
        List<String> names = classNames == null ? null
                : java.nio.file.Files.readAllLines(classNames).stream().filter(l -> !l.isBlank()).toList();
        return TrainedModel.fromWeights(model, weights, names);
    }

    private static double[] softmax(float[] z) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (float v : z) max = Math.max(max, v);
        double[] p = new double[z.length];
        for (int i = 0; i < z.length; i++) sum += p[i] = Math.exp(z[i] - max);
        for (int i = 0; i < z.length; i++) p[i] /= sum;
        return p;
    }
}
