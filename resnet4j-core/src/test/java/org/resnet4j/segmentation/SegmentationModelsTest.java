package org.resnet4j.segmentation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.models.BasicBlock;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.testing.FormulaWeights;

/** The models' structure: torchvision's state_dict names and shapes in order, output shapes, the aux head, bad input. */
class SegmentationModelsTest {
    @ParameterizedTest
    @ValueSource(strings = {"fcn_resnet50", "deeplabv3_resnet50"})
    void stateDictNamesShapesAndOrderAreTorchvisions(String model) throws Exception {
        List<String> want = Files.readAllLines(Path.of("src/test/resources/goldens", "keys_" + model + ".txt"));
        List<String> got = new ArrayList<>();
        SegmentationModels.get(model).createMeta(new SegmentationModels.Config(21, true, 3)).stateDict().forEach((k, t) -> {
            StringBuilder s = new StringBuilder(k).append(' ');
            for (int i = 0; i < t.rank(); i++) s.append(i > 0 ? "," : "").append(t.dim(i));
            got.add(s.toString());
        });
        assertEquals(want, got);
    }

    @Test
    void forwardIsOutAloneAndSkipsTheAuxHead() {
        SegmentationModel net = SegmentationModels.create("fcn_resnet18", 5, true);
        net.eval();
        try (var ignored = GradMode.noGrad()) {
            Variable x = Variable.constant(FormulaWeights.input(1, 3, 37, 29));
            Tensor out = net.forward(x).value();
            LinkedHashMap<String, Variable> all = net.forwardAll(x);
            assertTrue(out.hasShape(1, 5, 37, 29), out.shapeString());
            assertEquals(0f, Tensor.maxAbsDiff(out, all.get("out").value()));
            assertTrue(all.get("aux").value().hasShape(1, 5, 37, 29));
        }
        SegmentationModel noAux = SegmentationModels.create("deeplabv3_resnet18", 3, false);
        noAux.eval();
        assertTrue(!noAux.namedModules().containsKey("aux_classifier") && !noAux.hasAux());
        try (var ignored = GradMode.noGrad()) {
            assertEquals(List.of("out"), new ArrayList<>(noAux.forwardAll(Variable.constant(Tensor.zeros(1, 3, 24, 24))).keySet()));
        }
    }

    @Test
    void trainingOnOneImageIsRefusedByAsppPoolingAsByPyTorch() {
        SegmentationModel net = SegmentationModels.create("deeplabv3_resnet18", 3, false);
        var e = assertThrows(IllegalArgumentException.class, () -> net.forward(Variable.constant(Tensor.zeros(1, 3, 32, 32))));
        assertTrue(e.getMessage().contains("[1, 512, 4, 4]"), e.getMessage());
        net.eval();
        try (var ignored = GradMode.noGrad()) {
            assertNotNull(net.forward(Variable.constant(Tensor.zeros(1, 3, 32, 32))));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"resnet18", "resnet34"})
    void smallPresetsKeepTheImageNetResNetsNamesAndShapes(String resnet) throws Exception {
        List<String> want = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("src/test/resources/goldens", "keys_" + resnet + ".txt"))) {
            if (!line.startsWith("fc.")) want.add("backbone." + line);
        }
        List<String> got = new ArrayList<>();
        SegmentationModels.get("deeplabv3_" + resnet).createMeta(SegmentationModels.Config.defaults()).stateDict().forEach((k, t) -> {
            if (!k.startsWith("backbone.")) return;
            StringBuilder s = new StringBuilder(k).append(' ');
            for (int i = 0; i < t.rank(); i++) s.append(i > 0 ? "," : "").append(t.dim(i));
            got.add(s.toString());
        });
        assertEquals(want, got);
    }

    @Test
    void smallPresetsAreAtrousAtOutputStride8() {
        SegmentationModel net = SegmentationModels.create("fcn_resnet18", 4, true);
        net.eval();
        try (var ignored = GradMode.noGrad()) {
            var f = net.backbone().features(Variable.constant(Tensor.zeros(1, 3, 64, 64)), true);
            assertTrue(f.get("out").value().hasShape(1, 512, 8, 8), f.get("out").value().shapeString());
            assertTrue(f.get("aux").value().hasShape(1, 256, 8, 8), f.get("aux").value().shapeString());
        }
        var layer4 = net.namedModules();
        assertTrue(layer4.get("backbone.layer4.0") instanceof BasicBlock b && b.describe().equals("BasicBlock(dilation=2,4)"),
                layer4.get("backbone.layer4.0").describe());
        assertEquals("BasicBlock(dilation=4,4)", layer4.get("backbone.layer4.1").describe());
        assertEquals("BasicBlock(dilation=1,2)", layer4.get("backbone.layer3.0").describe());
        assertEquals("BasicBlock", layer4.get("backbone.layer2.1").describe());
        assertEquals("Conv2d(256, 512, kernel=3, stride=1, padding=2, dilation=2, bias=False)", layer4.get("backbone.layer4.0.conv1").describe());
        assertEquals("Conv2d(512, 512, kernel=3, stride=1, padding=4, dilation=4, bias=False)", layer4.get("backbone.layer4.0.conv2").describe());
        assertEquals("Conv2d(512, 128, kernel=3, stride=1, padding=1, bias=False)", layer4.get("classifier.0").describe());
        assertEquals("Conv2d(256, 64, kernel=3, stride=1, padding=1, bias=False)", layer4.get("aux_classifier.0").describe());
    }

    @ParameterizedTest
    @ValueSource(ints = {20, 32, 56})
    void cifarPresetsAreTheClassifiersTrunkUnderFcnHeads(int depth) {
        SegmentationModel net = SegmentationModels.create("fcn_resnet" + depth, 7, true);
        // the trunk is models' resnetN less avgpool and fc, under the same names and shapes
        var classifier = Models.create("resnet" + depth, ModelConfig.defaults(10));
        List<String> want = new ArrayList<>(), got = new ArrayList<>();
        classifier.stateDict().forEach((k, t) -> {
            if (!k.startsWith("fc.")) want.add("backbone." + k + " " + t.shapeString());
        });
        net.stateDict().forEach((k, t) -> {
            if (k.startsWith("backbone.")) got.add(k + " " + t.shapeString());
        });
        assertEquals(want, got);
        // 6n+2 layers: 3x3 stem to 16, three stages of n blocks at 16/32/64; option A shortcuts have no parameters
        int n = (depth - 2) / 6;
        long trunk = 3 * 16 * 9 + 2 * 16, blocks = 0;
        int[] widths = {16, 32, 64};
        for (int s = 0; s < 3; s++) {
            int w = widths[s], in = s == 0 ? 16 : widths[s - 1];
            blocks += (long) (in * w * 9 + 2 * w) + (w * w * 9 + 2 * w); // first block: conv from the previous width
            blocks += (long) (n - 1) * 2 * (w * w * 9 + 2 * w);
        }
        // FCNHead(64, 7): 3x3 to 16 + BN + 1x1 to 7 with bias; aux FCNHead(32, 7): 3x3 to 8 + BN + 1x1
        long head = 64 * 16 * 9 + 2 * 16 + 16 * 7 + 7, aux = 32 * 8 * 9 + 2 * 8 + 8 * 7 + 7;
        assertEquals(trunk + blocks + head + aux, net.parameterCount());
        if (depth == 20) assertEquals(280_822, net.parameterCount());
        assertEquals(281_186, SegmentationModels.create("fcn_resnet20", 21, true).parameterCount()); // the models listing's figure
        // output stride 4, undilated: out is layer3's 64 channels, aux layer2's 32
        net.eval();
        try (var ignored = GradMode.noGrad()) {
            var f = net.backbone().features(Variable.constant(Tensor.zeros(2, 3, 64, 48)), true);
            assertTrue(f.get("out").value().hasShape(2, 64, 16, 12), f.get("out").value().shapeString());
            assertTrue(f.get("aux").value().hasShape(2, 32, 32, 24), f.get("aux").value().shapeString());
            var o = net.forwardAll(Variable.constant(Tensor.zeros(2, 3, 64, 48)));
            assertTrue(o.get("out").value().hasShape(2, 7, 64, 48) && o.get("aux").value().hasShape(2, 7, 64, 48));
        }
        assertEquals("Conv2d(64, 16, kernel=3, stride=1, padding=1, bias=False)", net.namedModules().get("classifier.0").describe());
    }

    @Test
    void outputStride2PresetsDilateLayer3AndComputeTheStridedTrunkAtEvenPositions() {
        SegmentationModel os4 = SegmentationModels.create("fcn_resnet20", 7, true);
        SegmentationModel os2 = SegmentationModels.create("fcn_resnet20_os2", 7, true);
        // the same parameters under the same names, so weights load either way
        List<String> a = new ArrayList<>(), b = new ArrayList<>();
        os4.stateDict().forEach((k, t) -> a.add(k + " " + t.shapeString()));
        os2.stateDict().forEach((k, t) -> b.add(k + " " + t.shapeString()));
        assertEquals(a, b);
        assertEquals(os4.parameterCount(), os2.parameterCount());
        var m = os2.namedModules();
        // torchvision's _make_layer with dilate: the first conv keeps the previous rate, the rest sample at 2
        assertEquals("Conv2d(32, 64, kernel=3, stride=1, padding=1, bias=False)", m.get("backbone.layer3.0.conv1").describe());
        assertEquals("Conv2d(64, 64, kernel=3, stride=1, padding=2, dilation=2, bias=False)", m.get("backbone.layer3.0.conv2").describe());
        assertEquals("Conv2d(64, 64, kernel=3, stride=1, padding=2, dilation=2, bias=False)", m.get("backbone.layer3.2.conv1").describe());
        assertEquals("PadShortcut(stride=1, pad=16+16)", m.get("backbone.layer3.0.shortcut").describe());
        // a trous (Chen et al. 2017, section 3.1): in eval, where BN is a per-channel affine map, the
        // dilated trunk at even positions is the strided trunk, exactly up to summation order
        FormulaWeights.apply(os4);
        os2.loadStateDict(os4.stateDict(), true);
        os4.eval();
        os2.eval();
        Tensor x = FormulaWeights.input(2, 3, 37, 30); // odd and even sizes: ceil(h / 2) either way
        Tensor strided = os4.backbone().features(Variable.leaf(x), true).get("out").value();
        Tensor dilated = os2.backbone().features(Variable.leaf(x), true).get("out").value();
        assertTrue(strided.hasShape(2, 64, 10, 8), strided.shapeString());
        assertTrue(dilated.hasShape(2, 64, 19, 15), dilated.shapeString());
        double worst = 0;
        for (int i = 0; i < 2; i++) {
            for (int c = 0; c < 64; c++) {
                for (int y = 0; y < 10; y++) {
                    for (int xx = 0; xx < 8; xx++) {
                        worst = Math.max(worst, Math.abs(strided.get(i, c, y, xx) - dilated.get(i, c, 2 * y, 2 * xx)));
                    }
                }
            }
        }
        assertTrue(worst / strided.maxAbs() < 1e-5, "dilated vs strided trunk: " + worst);
        assertTrue(os2.forwardAll(Variable.leaf(x)).get("out").value().hasShape(2, 7, 37, 30));
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"deeplabv3_resnet18", "fcn_resnet20", "fcn_resnet20_os2"})
    void fusedInferenceEqualsTheUnfusedEvalForward(String name) {
        // eval with no graph folds BN into the convs (the atrous basic blocks and the CIFAR trunk
        // too); with a graph it does not
        SegmentationModel net = SegmentationModels.create(name, 4, true);
        FormulaWeights.apply(net);
        net.eval();
        Tensor x = FormulaWeights.input(2, 3, 35, 27);
        LinkedHashMap<String, Variable> unfused = net.forwardAll(Variable.leaf(x));
        try (var ignored = GradMode.noGrad()) {
            LinkedHashMap<String, Variable> fused = net.forwardAll(Variable.constant(x));
            for (String k : List.of("out", "aux")) {
                double err = Tensor.maxAbsDiff(unfused.get(k).value(), fused.get(k).value()) / unfused.get(k).value().maxAbs();
                assertTrue(err < 1e-5, k + ": fused vs unfused " + err);
            }
        }
    }

    @Test
    void dropoutDrawsMasksInTrainModeOnly() {
        SegmentationModel net = SegmentationModels.create("fcn_resnet18", 3, false);
        FormulaWeights.apply(net);
        Tensor x = FormulaWeights.input(2, 3, 32, 32);
        net.train();
        Tensor a = net.forward(Variable.constant(x)).value(), b = net.forward(Variable.constant(x)).value();
        assertTrue(Tensor.maxAbsDiff(a, b) > 1e-3, "Dropout(0.1) draws a new mask each call in train mode");
        net.eval();
        try (var ignored = GradMode.noGrad()) {
            assertEquals(0f, Tensor.maxAbsDiff(net.forward(Variable.constant(x)).value(), net.forward(Variable.constant(x)).value()));
        }
    }

    @Test
    void metaModelsGiveShapesWithoutComputing() {
        SegmentationModel net = SegmentationModels.get("deeplabv3_resnet101").createMeta(new SegmentationModels.Config(21, true, 3));
        net.eval();
        var out = net.forwardAll(Variable.constant(Tensor.meta(1, 3, 520, 520)));
        assertTrue(out.get("out").value().hasShape(1, 21, 520, 520) && out.get("out").isMeta());
        assertTrue(out.get("aux").value().hasShape(1, 21, 520, 520));
    }
}
