package org.resnet4j.detection;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.models.Models;
import org.resnet4j.models.ResNet;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.testing.FormulaWeights;
import org.resnet4j.testing.GradCheck;

/**
 * The FCOS backbone (a ResNet body and torchvision's feature pyramid with P6, P7) against
 * torchvision 0.14 (tools/make_detection_goldens.py): the five levels for a 1x3x100x132 formula
 * input in float64 (within 1e-4 of the largest value), the state_dict keys with shapes in
 * torchvision's order, and the parameter counts, total and trainable, as torchvision counts them.
 */
class FeaturePyramidParityTest {
    private static final double TOL = 1e-4;
    private static final Path GOLDENS = Path.of("src/test/resources/goldens");

    /** case name -> (resnet, P6 input channels) of tools/make_detection_goldens.py's CASES. */
    private static BackboneWithFpn build(String name) {
        return switch (name) {
            case "fcos_resnet50_fpn" -> BackboneWithFpn.fcosResNetFpn("resnet50", true, null);
            case "fcos_resnet50_fpn_scratch" -> BackboneWithFpn.fcosResNetFpn("resnet50", false, null);
            case "fcos_resnet18_fpn" -> BackboneWithFpn.fcosResNetFpn("resnet18", true, null);
            case "fcos_resnet18_fpn_p6c5" -> {
                ResNet net = (ResNet) Models.create("resnet18");
                BatchNorm2d.freezeAll(net);
                yield BackboneWithFpn.resnetFpnExtractor(net, 3, new int[] {2, 3, 4}, new LastLevelP6P7(512, 256));
            }
            default -> throw new IllegalArgumentException(name);
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"fcos_resnet50_fpn", "fcos_resnet50_fpn_scratch", "fcos_resnet18_fpn", "fcos_resnet18_fpn_p6c5"})
    void stateDictKeysAndParameterCountsAreTorchvisions(String name) throws Exception {
        BackboneWithFpn bb = build(name);
        List<String> want = Files.readAllLines(GOLDENS.resolve("keys_" + name + ".txt"));
        List<String> got = new ArrayList<>();
        bb.stateDict().forEach((k, t) -> got.add("backbone." + k + " " + shape(t)));
        assertEquals(want, got);
        Map<String, String> meta = SafeTensors.read(GOLDENS.resolve("fpn_" + name + ".safetensors")).metadata();
        assertEquals(Long.parseLong(meta.get("parameters_total")), bb.parameterCount(), "parameters");
        assertEquals(Long.parseLong(meta.get("parameters_trainable")), bb.trainableParameterCount(), "trainable parameters");
    }

    private static String shape(Tensor t) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < t.rank(); i++) sb.append(i == 0 ? "" : ",").append(t.dim(i));
        return sb.toString();
    }

    @ParameterizedTest
    @ValueSource(strings = {"fcos_resnet50_fpn", "fcos_resnet18_fpn", "fcos_resnet18_fpn_p6c5"})
    void levelsMatchTorchvision(String name) throws Exception {
        SafeTensors.Contents golden = SafeTensors.read(GOLDENS.resolve("fpn_" + name + ".safetensors"));
        BackboneWithFpn bb = build(name);
        FormulaWeights.apply(bb);
        bb.eval();
        int[] shape = java.util.Arrays.stream(golden.metadata().get("input").split(",")).mapToInt(Integer::parseInt).toArray();
        Variable x = Variable.constant(FormulaWeights.input(shape));
        LinkedHashMap<String, Variable> out;
        try (var ignored = GradMode.noGrad()) {
            out = bb.forwardAll(x);
        }
        assertEquals(List.copyOf(golden.tensors().keySet()), List.copyOf(out.keySet()), "outputs and their order");
        assertEquals(List.of("0", "1", "2", "p6", "p7"), List.copyOf(out.keySet()));
        StringBuilder report = new StringBuilder(name + " relative error:");
        for (var e : golden.tensors().entrySet()) {
            Tensor want = e.getValue(), gotT = out.get(e.getKey()).value();
            assertArrayEquals(want.shape(), gotT.shape(), e.getKey() + " shape");
            double err = Tensor.maxAbsDiff(want, gotT) / want.maxAbs();
            report.append(String.format(" %s %.1e (PyTorch float32 %s)", e.getKey(), err, golden.metadata().get("torch_f32_err_" + e.getKey())));
            assertTrue(err <= TOL, name + " level " + e.getKey() + ": relative error " + err);
        }
        System.out.println(report);
        // in train mode, recording the graph (no fused inference path), FrozenBatchNorm2d still uses its fixed statistics
        bb.train();
        LinkedHashMap<String, Variable> trained = bb.forwardAll(Variable.leaf(FormulaWeights.input(shape)));
        for (var e : golden.tensors().entrySet()) {
            double err = Tensor.maxAbsDiff(e.getValue(), trained.get(e.getKey()).value()) / e.getValue().maxAbs();
            assertTrue(err <= TOL, name + " level " + e.getKey() + " in train mode: relative error " + err);
        }
        assertEquals(bb.forward(x).value().shape()[2], 13, "forward is level '0' (C3's 13x17)");
    }

    @Test
    void trainableLayersFreezeTheStemAndLayer1AsTorchvision() {
        BackboneWithFpn bb = BackboneWithFpn.fcosResNetFpn("resnet18", true, null);
        for (var e : bb.namedParameters().entrySet()) {
            String k = e.getKey();
            boolean frozen = k.startsWith("body.conv1") || k.startsWith("body.layer1");
            assertEquals(!frozen, e.getValue().requiresGrad(), k);
        }
        for (var m : bb.namedModules().values()) if (m instanceof BatchNorm2d bn) assertTrue(bn.isFrozenBatchNorm2d());
        // gradients reach the input through the frozen layers, and no frozen parameter gets one
        Variable x = Variable.leaf(FormulaWeights.input(1, 3, 64, 64));
        LinkedHashMap<String, Variable> out = bb.forwardAll(x);
        out.get("p7").backward(Tensor.full(1f, out.get("p7").shape()));
        assertNotNull(x.grad(), "input gradient");
        assertNotNull(bb.namedParameters().get("body.layer2.0.conv1.weight").grad());
        assertNotNull(bb.namedParameters().get("fpn.extra_blocks.p7.weight").grad());
        assertNull(bb.namedParameters().get("body.layer1.0.conv1.weight").grad());
        assertNull(bb.namedParameters().get("body.conv1.weight").grad());
        var e = assertThrows(IllegalStateException.class,
                () -> ((BatchNorm2d) bb.namedModules().get("body.bn1")).setFrozen(false));
        assertTrue(e.getMessage().contains("FrozenBatchNorm2d"), e.getMessage());
    }

    @Test
    void pyramidConvsStartAsTorchvisionInitializesThem() {
        // kaiming_uniform_(a=1): uniform within sqrt(3 / fan_in); biases zero
        BackboneWithFpn bb = BackboneWithFpn.fcosResNetFpn("resnet18", true, null);
        int convs = 0;
        for (var e : bb.fpn.namedParameters().entrySet()) {
            Tensor t = e.getValue().value();
            if (e.getKey().endsWith(".bias")) {
                assertEquals(0f, t.maxAbs(), e.getKey());
                continue;
            }
            double bound = Math.sqrt(3.0 / (t.size() / t.dim(0)));
            assertTrue(t.maxAbs() <= bound && t.maxAbs() > 0.95 * bound, e.getKey() + ": max " + t.maxAbs() + ", bound " + bound);
            convs++;
        }
        assertEquals(8, convs, "3 lateral, 3 output, P6 and P7 convs");
    }

    @Test
    void badArgumentsAreNamed() {
        ResNet net = (ResNet) Models.create("resnet18");
        var e = assertThrows(IllegalArgumentException.class, () -> BackboneWithFpn.resnetFpnExtractor(net, 6, new int[] {2, 3, 4}, null));
        assertTrue(e.getMessage().contains("6"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BackboneWithFpn.resnetFpnExtractor(net, 3, new int[] {0, 3}, null));
        assertTrue(e.getMessage().contains("[0, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BackboneWithFpn.fcosResNetFpn("resnet18", false, 3));
        assertTrue(e.getMessage().contains("3"), e.getMessage());
        FeaturePyramidNetwork fpn = new FeaturePyramidNetwork(new int[] {4, 6}, 5, null);
        LinkedHashMap<String, Variable> feats = new LinkedHashMap<>();
        feats.put("a", Variable.constant(Tensor.zeros(1, 4, 6, 6)));
        feats.put("b", Variable.constant(Tensor.zeros(1, 7, 3, 3)));
        e = assertThrows(IllegalArgumentException.class, () -> fpn.apply(feats));
        assertTrue(e.getMessage().contains("[N, 6, H, W]") && e.getMessage().contains("[1, 7, 3, 3]"), e.getMessage());
    }

    /** The assembled pyramid's backward (lateral and output convs, nearest upsampling to odd sizes, P6 from C5, relu, P7) by finite differences. */
    @Test
    void pyramidGradientsMatchFiniteDifferences() {
        org.resnet4j.nn.Init.manualSeed(7);
        FeaturePyramidNetwork fpn = new FeaturePyramidNetwork(new int[] {3, 4, 5}, 4, new LastLevelP6P7(5, 4));
        Variable c3 = Variable.leaf(Tensor.randn(1, 1, 3, 9, 11)), c4 = Variable.leaf(Tensor.randn(2, 1, 4, 5, 6));
        Variable c5 = Variable.leaf(Tensor.randn(3, 1, 5, 3, 3));
        GradCheck.of("fpn", () -> {
            LinkedHashMap<String, Variable> feats = new LinkedHashMap<>();
            feats.put("0", c3);
            feats.put("1", c4);
            feats.put("2", c5);
            LinkedHashMap<String, Variable> out = fpn.apply(feats);
            List<Variable> flat = new ArrayList<>();
            for (Variable v : out.values()) flat.add(org.resnet4j.autograd.ops.ReshapeOp.apply(v, -1));
            return org.resnet4j.autograd.ops.ConcatOp.apply(0, flat.toArray(new Variable[0]));
        }).wrt("c3", c3).wrt("c4", c4).wrt("c5", c5).wrtParameters(fpn).run();
    }
}
