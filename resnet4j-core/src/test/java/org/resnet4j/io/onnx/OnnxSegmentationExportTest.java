package org.resnet4j.io.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Init;
import org.resnet4j.segmentation.SegmentationModel;
import org.resnet4j.segmentation.SegmentationModels;
import org.resnet4j.tensor.Tensor;

/**
 * FCN and DeepLabV3 exported with random weights and random BN statistics, run in ONNX Runtime
 * and compared with resnet4j's eval {@code forwardAll}, output by output, within 1e-4 of the
 * largest value. The inputs are small (a 520x520 DeepLabV3 on resnet50 is docs/SEGMENTATION.md's
 * one-off measurement), not square, so a height/width mix-up shows, and some odd, so the final
 * resize has a ratio that is not whole. One symbolic-batch file is checked at batch 2 and at
 * batch 1 (the first row of the batch-2 forward: eval mode treats every sample alone).
 */
class OnnxSegmentationExportTest {
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

    static Stream<Arguments> models() {
        return Stream.of(
                Arguments.of("deeplabv3_resnet50", true, true, 64, 48),   // layer4 map 8x6
                Arguments.of("fcn_resnet50", true, true, 33, 41),         // 5x6, resized by 33/5 and 41/6
                Arguments.of("deeplabv3_resnet18", false, false, 40, 56), // a small preset: atrous basic blocks; BN nodes kept
                Arguments.of("fcn_resnet34", true, true, 37, 29),
                Arguments.of("fcn_resnet20", true, true, 35, 26));       // a CIFAR trunk: option A shortcuts, out at stride 4
    }

    static LinkedHashMap<String, Tensor> forwardAll(SegmentationModel m, Tensor x) {
        try (var _ = GradMode.noGrad()) {
            LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
            m.forwardAll(Variable.constant(x)).forEach((k, v) -> out.put(k, v.value()));
            return out;
        }
    }

    @ParameterizedTest(name = "{0} aux={1} fold={2} at 2x3x{3}x{4}")
    @MethodSource("models")
    void outAndAuxMatchResnet4j(String name, boolean aux, boolean fold, int h, int w) throws Exception {
        Init.manualSeed(23);
        SegmentationModel m = SegmentationModels.create(name, 5, aux);
        OnnxExportTest.randomizeBatchNorms(m, 300);
        m.eval();
        Tensor x = Tensor.randn(29, 2, 3, h, w);
        Map<String, Tensor> ours = forwardAll(m, x);
        Path file = dir.resolve(name + ".onnx");
        Onnx.export(m, new int[] {-1, 3, h, w}, file, new Onnx.Options(fold, true));

        Map<String, Tensor> ort = OnnxExportTest.runOrtAll(file, x);
        List<String> expected = aux ? List.of(Onnx.SEGMENTATION_OUT, Onnx.SEGMENTATION_AUX) : List.of(Onnx.SEGMENTATION_OUT);
        assertEquals(expected, new ArrayList<>(ort.keySet()), "graph outputs");
        assertEquals(expected, new ArrayList<>(ours.keySet()), "forwardAll outputs");
        for (String k : expected) {
            assertArrayEquals(new int[] {2, 5, h, w}, ort.get(k).shape(), k);
            OnnxExportTest.assertClose(ours.get(k), ort.get(k).data(), name + " " + k + " batch 2");
        }
        Map<String, Tensor> one = OnnxExportTest.runOrtAll(file, OnnxExportTest.firstRows(x, 1));
        for (String k : expected) OnnxExportTest.assertClose(OnnxExportTest.firstRows(ours.get(k), 1), one.get(k).data(), name + " " + k + " batch 1");

        List<String> ops = OnnxExportTest.opTypes(file);
        boolean deeplab = name.startsWith("deeplab");
        // one Resize per output, plus ASPP's pooling branch back to the map's size
        assertEquals((aux ? 2 : 1) + (deeplab ? 1 : 0), ops.stream().filter("Resize"::equals).count(), "Resize nodes");
        assertEquals(deeplab, ops.contains("GlobalAveragePool"));
        assertFalse(ops.contains("Dropout"));
        long bns = m.namedModules().values().stream().filter(b -> b instanceof BatchNorm2d).count();
        assertEquals(fold ? 0 : bns, ops.stream().filter("BatchNormalization"::equals).count(), "BN nodes");
        // the dilated convs of layer3/layer4 and ASPP keep their dilation: every Conv2d is one Conv node
        long convs = m.namedModules().values().stream().filter(c -> c instanceof Conv2d).count();
        assertEquals(convs, ops.stream().filter("Conv"::equals).count(), "Conv nodes");
    }

    @Test
    void anInputOfOtherChannelsIsRefusedNamingTheLayer() {
        Init.manualSeed(5);
        SegmentationModel m = SegmentationModels.create("fcn_resnet18", 3, true);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Onnx.export(m, new int[] {1, 1, 32, 32}, dir.resolve("fcn18.onnx"), Onnx.Options.defaults()));
        assertTrue(e.getMessage().contains("backbone.conv1") && e.getMessage().contains("3 input channels"), e.getMessage());
    }
}
