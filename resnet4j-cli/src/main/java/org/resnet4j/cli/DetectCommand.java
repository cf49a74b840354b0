package org.resnet4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import javax.imageio.ImageIO;
import org.resnet4j.detection.CocoCategories;
import org.resnet4j.detection.Detections;
import org.resnet4j.detection.Fcos;
import org.resnet4j.detection.FcosWeights;
import org.resnet4j.data.ImageDecoder;
import org.resnet4j.io.json.Json;
import org.resnet4j.report.DetectionGrid;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.Transfer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "detect", mixinStandardHelpOptions = true,
        description = {"Object detection with FCOS (torchvision's fcos_resnet50_fpn weights, or resnet4j's): per image a PNG with",
                "the labelled boxes drawn, and the detections in the original image's pixels, best first. The class count",
                "is read from the weights; 91 classes are named as torchvision's COCO categories."})
final class DetectCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "fcos_resnet50_fpn, fcos_resnet18_fpn or fcos_resnet18w32_fpn.") String model;
    @Option(names = "--weights", required = true, description = "An FCOS state_dict (.pth from torch.save, or .safetensors).") Path weights;
    @Option(names = "--score-threshold", defaultValue = "0.2", description = "Least score kept (default ${DEFAULT-VALUE}, torchvision's).") float score;
    @Option(names = "--nms-threshold", defaultValue = "0.6", description = "IoU above which a lower-scored box of the same class is dropped (default ${DEFAULT-VALUE}).") float nms;
    @Option(names = "--detections-per-image", defaultValue = "100", description = "Most detections per image (default ${DEFAULT-VALUE}).") int perImage;
    @Option(names = "--min-size", description = "Shorter side the image is resized to (default: the model's, 800 for fcos_resnet50_fpn).") Integer minSize;
    @Option(names = "--max-size", description = "Longest the longer side may become (default: the model's, 1333 for fcos_resnet50_fpn).") Integer maxSize;
    @Option(names = "--labels", description = "Class names, one per line (default: COCO's for 91 classes, else numbered).") Path labels;
    @Option(names = "--out", defaultValue = "detections", description = "Folder for the PNGs (default ${DEFAULT-VALUE}).") Path out;
    @Option(names = "--json", description = "Print the detections as JSON.") boolean json;
    @Option(names = "--max-image-pixels", defaultValue = "89478485", description = "Refuse images whose header declares more pixels (default ${DEFAULT-VALUE}).") long maxImagePixels;
    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "JPEG/PNG/BMP/GIF files.") List<Path> images;
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    private static final String CLS = "head.classification_head.cls_logits.weight";

    @Override
    public Integer call() throws Exception {
        ImageDecoder.setMaxPixels(maxImagePixels);
        if (minSize != null && minSize < 1) throw new IllegalArgumentException("--min-size must be >= 1, got " + minSize);
        if (maxSize != null && maxSize < 1) throw new IllegalArgumentException("--max-size must be >= 1, got " + maxSize);
        if (!(score >= 0 && score <= 1)) throw new IllegalArgumentException("--score-threshold must be in [0, 1], got " + score);
        if (!(nms >= 0 && nms <= 1)) throw new IllegalArgumentException("--nms-threshold must be in [0, 1], got " + nms);
        if (perImage < 1) throw new IllegalArgumentException("--detections-per-image must be >= 1, got " + perImage);
        Map<String, Tensor> state = Transfer.readStateDict(weights);
        Tensor cls = state.get(CLS);
        if (cls == null || cls.rank() != 4) {
            throw new IllegalArgumentException(weights + ": no " + CLS + " [classes, 256, 3, 3], so not an FCOS state_dict (keys: "
                    + String.join(", ", state.keySet().stream().limit(4).toList()) + ", ...)");
        }
        int classes = cls.dim(0);
        Fcos m = Fcos.create(model, classes, true); // frozen batch norm, as torchvision builds a model for given weights
        try {
            FcosWeights.loadFcos(m, state);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(weights + ": " + e.getMessage());
        }
        Fcos.Options o = m.options();
        m.setOptions(new Fcos.Options(minSize != null ? minSize : o.minSize(), maxSize != null ? maxSize : o.maxSize(),
                o.centerSamplingRadius(), score, nms, perImage, o.topkCandidates()));
        m.eval();
        List<String> names = ImageArgs.labels(labels, CocoCategories.NAMES, classes);
        Files.createDirectories(out);
        List<Map<String, Object>> all = new ArrayList<>();
        int failed = 0;
        for (Path file : images) {
            Tensor img = ImageArgs.decodeOrReport(file, spec);
            if (img == null) {
                failed++;
                continue;
            }
            Detections d = m.detect(List.of(img)).getFirst();
            List<Map<String, Object>> found = new ArrayList<>();
            float[] b = d.boxes().data(), s = d.scores().data();
            for (int i = 0; i < d.size(); i++) {
                Map<String, Object> det = new LinkedHashMap<>();
                det.put("box", List.of(b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]));
                det.put("score", s[i]);
                det.put("label", d.labels()[i]);
                det.put("class", name(names, d.labels()[i]));
                found.add(det);
            }
            String stem = file.getFileName().toString().replaceFirst("\\.[^.]+$", "");
            Path png = out.resolve(stem + ".detections.png");
            ImageIO.write(DetectionGrid.draw(img, d, names), "png", png.toFile());
            if (json) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("image", file.toString());
                r.put("detections", found);
                all.add(r);
            } else {
                System.out.printf(Locale.ROOT, "%s (%dx%d): %d detections, wrote %s%n", file, img.dim(2), img.dim(1), d.size(), png);
                for (int i = 0; i < d.size(); i++) {
                    System.out.printf(Locale.ROOT, "  %-16s %.3f  [%.1f, %.1f, %.1f, %.1f]%n", name(names, d.labels()[i]), s[i],
                            b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]);
                }
            }
        }
        if (json) System.out.println(Json.write(all));
        return failed == 0 ? 0 : 2;
    }

    private static String name(List<String> names, int label) {
        return names != null ? names.get(label) : "class " + label;
    }
}
