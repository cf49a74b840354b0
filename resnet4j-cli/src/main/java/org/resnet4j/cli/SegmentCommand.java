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
import org.resnet4j.data.Normalize;
import org.resnet4j.data.Resize;
import org.resnet4j.data.dense.DenseTransforms;
import org.resnet4j.io.json.Json;
import org.resnet4j.nn.Inference;
import org.resnet4j.segmentation.Masks;
import org.resnet4j.segmentation.SegmentationModel;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.SegmentationWeights;
import org.resnet4j.train.Transfer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "segment", mixinStandardHelpOptions = true,
        description = {"Semantic segmentation of image files with an FCN or DeepLabV3 (torchvision's weights or resnet4j's):",
                "per image a colour overlay PNG and the class-index mask as a palette PNG (VOC's palette), and the classes",
                "found with their pixel shares. Preprocessing as torchvision's SemanticSegmentation preset: the shorter side",
                "resized to --size, ImageNet normalisation; the prediction is mapped back to the image's own size."})
final class SegmentCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "fcn_resnet50, deeplabv3_resnet50, ... (see `models`).") String model;
    @Option(names = "--weights", required = true, description = "A segmentation state_dict (.pth or .safetensors); its classes and "
            + "auxiliary head are read from it.") Path weights;
    @Option(names = "--out", defaultValue = "segmentation", description = "Folder for the PNGs (default ${DEFAULT-VALUE}).") Path out;
    @Option(names = "--size", defaultValue = "520", description = "Shorter side the image is resized to (default ${DEFAULT-VALUE}, torchvision's).") int size;
    @Option(names = "--labels", description = "Class names, one per line (default: VOC's 21 when the model has 21 classes).") Path labels;
    @Option(names = "--json", description = "Print the classes found per image as JSON.") boolean json;
    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "JPEG/PNG/BMP/GIF files.") List<Path> images;
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (size < 16) throw new IllegalArgumentException("--size must be >= 16, got " + size);
        SegmentationModel m = SegmentationWeights.forStateDict(model, Transfer.readStateDict(weights), weights);
        int classes = m.classes();
        List<String> names = ImageArgs.labels(labels, Masks.VOC_CLASSES, classes);
        Files.createDirectories(out);
        Inference inference = new Inference(m);
        Normalize normalize = Normalize.imagenet();
        List<Map<String, Object>> all = new ArrayList<>();
        int failed = 0;
        for (Path file : images) {
            Tensor img = ImageArgs.decodeOrReport(file, spec);
            if (img == null) {
                failed++;
                continue;
            }
            int h = img.dim(1), w = img.dim(2);
            Tensor x = normalize.apply(new Resize(size).apply(img, null), null);
            Tensor scores = inference.run(x.reshape(1, 3, x.dim(1), x.dim(2)));
            int[] small = Masks.argmax(scores.reshape(classes, x.dim(1), x.dim(2)));
            int[] mask = DenseTransforms.resizeMask(small, x.dim(1), x.dim(2), h, w);
            String stem = file.getFileName().toString().replaceFirst("\\.[^.]+$", "");
            Path overlay = out.resolve(stem + ".overlay.png"), maskFile = out.resolve(stem + ".mask.png");
            ImageIO.write(Masks.overlay(img, mask), "png", overlay.toFile());
            ImageIO.write(Masks.toPaletteImage(mask, h, w), "png", maskFile.toFile());
            long[] count = new long[classes];
            for (int v : mask) count[v]++;
            List<Map<String, Object>> found = new ArrayList<>();
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%s (%dx%d, run at %dx%d):", file, w, h, x.dim(2), x.dim(1)));
            for (int c = 0; c < classes; c++) {
                if (count[c] == 0) continue;
                String name = names != null ? names.get(c) : "class " + c;
                double share = (double) count[c] / mask.length;
                Map<String, Object> f = new LinkedHashMap<>();
                f.put("class", name);
                f.put("index", c);
                f.put("share", share);
                found.add(f);
                line.append(String.format(Locale.ROOT, " %s %.1f%%", name, 100 * share));
            }
            found.sort((a, b) -> Double.compare((Double) b.get("share"), (Double) a.get("share")));
            if (json) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("image", file.toString());
                r.put("classes", found);
                r.put("overlay", overlay.toString());
                r.put("mask", maskFile.toString());
                all.add(r);
            } else {
                System.out.println(line);
                System.out.println("  wrote " + overlay + ", " + maskFile);
            }
        }
        if (json) System.out.println(Json.write(all));
        return failed == 0 ? 0 : 2;
    }
}
