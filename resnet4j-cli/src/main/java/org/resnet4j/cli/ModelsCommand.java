package org.resnet4j.cli;

import java.util.concurrent.Callable;
import org.resnet4j.detection.CocoCategories;
import org.resnet4j.detection.Fcos;
import org.resnet4j.models.Models;
import org.resnet4j.models.Summary;
import org.resnet4j.nn.Module;
import org.resnet4j.segmentation.SegmentationModels;
import picocli.CommandLine.Command;

@Command(name = "models", mixinStandardHelpOptions = true,
        description = "List every registered model (classifiers, segmenters, detectors) with its parameter count and GFLOPs at its default input size.")
final class ModelsCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.out.printf("%-20s %-23s %9s %14s %9s%n", "model", "family", "input", "params", "GFLOPs");
        for (Models.Entry e : Models.all().values()) {
            Module m = e.createMeta(org.resnet4j.models.ModelConfig.defaults(e.defaultClasses()));
            Summary s = Summary.of(m, 1, 3, e.defaultSize(), e.defaultSize());
            System.out.printf("%-20s %-23s %9s %,14d %9.2f%n", e.name(), e.family(),
                    "3x" + e.defaultSize() + "x" + e.defaultSize(), s.params(), s.gflops());
        }
        for (SegmentationModels.Entry e : SegmentationModels.all().values()) {
            // with the auxiliary head, as torchvision counts its published segmentation weights
            Module m = e.createMeta(new SegmentationModels.Config(e.defaultClasses(), true, 3));
            Summary s = Summary.of(m, 1, 3, e.defaultSize(), e.defaultSize());
            System.out.printf("%-20s %-23s %9s %,14d %9.2f%n", e.name(), "segmentation: " + e.family(),
                    "3x" + e.defaultSize() + "x" + e.defaultSize(), s.params(), s.gflops());
        }
        StringBuilder trainableBn = new StringBuilder();
        for (String name : Fcos.PRESETS) {
            // FrozenBatchNorm2d, as fcos_resnet50_fpn builds the model when weights are given
            // (detection/fcos.py: is_trained); ops/misc.py registers its weight and bias as
            // buffers, so torchvision's parameters() does not count them
            Fcos m = Module.buildMeta(() -> Fcos.create(name, CocoCategories.NAMES.size(), true));
            // the batch a 480x640 (4:3) image becomes: resized by the preset's transform, padded to 32
            int[] hw = m.transform().resizedSize(480, 640);
            int h = pad32(hw[0]), w = pad32(hw[1]);
            Summary s = Summary.of(m, 1, 3, h, w);
            System.out.printf("%-20s %-23s %9s %,14d %9.2f%n", name, "detection: FCOS", "3x" + h + "x" + w, s.params(), s.gflops());
            long scratch = Module.buildMeta(() -> Fcos.create(name, CocoCategories.NAMES.size(), false)).parameterCount();
            trainableBn.append(trainableBn.isEmpty() ? "" : ", ").append(String.format("%s %,d", name, scratch));
        }
        System.out.println("Segmentation models: parameters with the auxiliary head (torchvision's counts), GFLOPs of the main output.");
        System.out.println("Detection models (91 classes): parameters with frozen batch norm, torchvision's count when weights are given;");
        System.out.println("  with trainable batch norm (no weights): " + trainableBn + ".");
        System.out.println("  GFLOPs: backbone and head on a 480x640 image as the transform resizes and pads it (post-processing not counted).");
        System.out.println("GFLOPs = 2 x multiply-accumulates of one forward pass of one image "
                + "(torchvision's tables quote multiply-accumulates, i.e. half these figures).");
        return 0;
    }

    private static int pad32(int size) {
        return (size + 31) / 32 * 32; // GeneralizedRCNNTransform's size_divisible
    }
}
