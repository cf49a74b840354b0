package org.resnet4j.cli;

import org.resnet4j.io.json.Json;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.resnet4j.data.ImageFolder;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.Predictor;
import org.resnet4j.train.TrainedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "predict", mixinStandardHelpOptions = true,
        description = {"Classify image files: top-k classes with probabilities, from a training checkpoint",
                "(--checkpoint) or from weights (--model NAME --weights W.pth|W.safetensors; ImageNet models use",
                "torchvision's eval preprocessing and class names)."})
final class PredictCommand implements Callable<Integer> {
    @picocli.CommandLine.Mixin ClassifierSource source;
    @Option(names = "--top", defaultValue = "5", description = "How many classes to show (default ${DEFAULT-VALUE}).") int top;
    @Option(names = "--json") boolean json;
    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "JPEG/PNG/BMP/GIF files.") List<Path> images;
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--max-image-pixels", defaultValue = "89478485",
            description = "Refuse images whose header declares more pixels (default ${DEFAULT-VALUE}, PIL's MAX_IMAGE_PIXELS).") long maxImagePixels;

    @Override
    public Integer call() throws Exception {
        org.resnet4j.data.ImageDecoder.setMaxPixels(maxImagePixels);
        TrainedModel tm = source.load();
        Predictor predictor = source.predictor(tm, 32);
        List<Path> read = new ArrayList<>();
        List<Tensor> inputs = new ArrayList<>();
        int failed = 0;
        for (Path file : images) {
            try {
                inputs.add(predictor.preprocess(ImageFolder.decode(file, tm.inChannels())));
                read.add(file);
            } catch (java.io.IOException e) {
                spec.commandLine().getErr().println("error: " + e.getMessage()); // the others are still answered
                spec.commandLine().getErr().flush();
                failed++;
            }
        }
        float[][] logits = predictor.logits(inputs);
        List<Map<String, Object>> all = new ArrayList<>();
        for (int i = 0; i < read.size(); i++) {
            List<Map<String, Object>> ranked = new ArrayList<>();
            for (Predictor.Scored sc : predictor.rank(logits[i], top)) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("class", sc.label());
                r.put("index", sc.index());
                r.put("probability", sc.probability());
                ranked.add(r);
            }
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("image", read.get(i).toString());
                m.put("top", ranked);
                all.add(m);
            } else {
                System.out.println(read.get(i) + ":");
                for (Map<String, Object> r : ranked) {
                    System.out.printf(Locale.ROOT, "  %6.2f%%  %s%n", 100 * (Double) r.get("probability"), r.get("class"));
                }
            }
        }
        if (json) System.out.println(Json.write(all));
        return failed == 0 ? 0 : 2;
    }
}
