package org.resnet4j.detection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.testing.FormulaWeights;

/**
 * FcosWeights: a whole FCOS state_dict by name (through a file), an ImageNet classifier's into
 * backbone.body, and refusals that name the key and leave the model untouched.
 */
class FcosWeightsTest {
    private static Map<String, Tensor> copyOf(Module m) {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        m.stateDict().forEach((k, t) -> out.put(k, t.copy()));
        return out;
    }

    private static void assertSameState(Map<String, Tensor> want, Map<String, Tensor> got) {
        assertEquals(want.keySet(), got.keySet());
        for (var e : want.entrySet()) assertEquals(0f, Tensor.maxAbsDiff(e.getValue(), got.get(e.getKey())), e.getKey());
    }

    @Test
    void aWholeStateDictLoadsByNameThroughAFile(@TempDir Path dir) throws Exception {
        Fcos a = Fcos.create("fcos_resnet18_fpn", 5, true);
        FormulaWeights.apply(a);
        Path file = dir.resolve("fcos.safetensors");
        SafeTensors.write(file, a.stateDict(), Map.of());
        Fcos b = Fcos.create("fcos_resnet18_fpn", 5, true);
        FcosWeights.loadFcos(b, SafeTensors.read(file).tensors());
        assertSameState(a.stateDict(), b.stateDict());
        a.eval();
        b.eval();
        Variable x = Variable.constant(FormulaWeights.input(1, 3, 64, 96));
        try (var ignored = GradMode.noGrad()) {
            assertEquals(0f, Tensor.maxAbsDiff(a.forward(x).value(), b.forward(x).value()));
        }
        // a BatchNorm2d model takes the frozen layout's state and keeps its own num_batches_tracked
        Fcos scratch = Fcos.create("fcos_resnet18_fpn", 5, false);
        FcosWeights.loadFcos(scratch, a.stateDict());
        assertEquals(0f, Tensor.maxAbsDiff(a.stateDict().get("head.classification_head.cls_logits.weight"),
                scratch.stateDict().get("head.classification_head.cls_logits.weight")));
    }

    @Test
    void aWrongKeyOrShapeIsRefusedBeforeAnythingIsWritten() {
        Fcos src = Fcos.create("fcos_resnet18_fpn", 5, true);
        FormulaWeights.apply(src);
        Fcos m = Fcos.create("fcos_resnet18_fpn", 5, true);
        Map<String, Tensor> before = copyOf(m);
        LinkedHashMap<String, Tensor> renamed = new LinkedHashMap<>(src.stateDict());
        renamed.put("head.regression_head.bbox_regression.weight", renamed.remove("head.regression_head.bbox_reg.weight"));
        var e = assertThrows(IllegalArgumentException.class, () -> FcosWeights.loadFcos(m, renamed));
        assertTrue(e.getMessage().contains("head.regression_head.bbox_reg.weight")
                && e.getMessage().contains("head.regression_head.bbox_regression.weight"), e.getMessage());
        assertSameState(before, m.stateDict());
        Fcos other = Fcos.create("fcos_resnet18_fpn", 7, true); // 7 classes: cls_logits is [7, 256, 3, 3]
        e = assertThrows(IllegalArgumentException.class, () -> FcosWeights.loadFcos(m, other.stateDict()));
        assertTrue(e.getMessage().contains("head.classification_head.cls_logits.weight") && e.getMessage().contains("[7, 256, 3, 3]"),
                e.getMessage());
        assertSameState(before, m.stateDict());
        assertNotEquals(0f, Tensor.maxAbsDiff(src.stateDict().get("backbone.body.conv1.weight"), m.stateDict().get("backbone.body.conv1.weight")));
    }

    @Test
    void anImageNetClassifierLoadsIntoTheBody() {
        Module resnet = Models.create("resnet18");
        FormulaWeights.apply(resnet); // its state_dict has fc.* and num_batches_tracked, as torchvision's checkpoints
        Fcos m = Fcos.create("fcos_resnet18_fpn", 5, true);
        Map<String, Tensor> fpnBefore = copyOf(m.backbone.fpn), headBefore = copyOf(m.head);
        FcosWeights.loadBackboneFromClassifier(m, resnet.stateDict());
        Map<String, Tensor> body = m.backbone.body.stateDict(), src = resnet.stateDict();
        for (var e : body.entrySet()) assertEquals(0f, Tensor.maxAbsDiff(src.get(e.getKey()), e.getValue()), e.getKey());
        long counts = src.keySet().stream().filter(k -> k.endsWith("num_batches_tracked")).count();
        assertTrue(counts > 0 && src.containsKey("fc.weight"));
        assertEquals(src.size() - 2 - counts, body.size(), "all but fc.weight, fc.bias and the num_batches_tracked");
        assertSameState(fpnBefore, m.backbone.fpn.stateDict());
        assertSameState(headBefore, m.head.stateDict());
        // a ResNet-50 checkpoint does not fit a ResNet-18 body: named, nothing written
        Fcos n = Fcos.create("fcos_resnet18_fpn", 5, true);
        Map<String, Tensor> before = copyOf(n);
        var e = assertThrows(IllegalArgumentException.class,
                () -> FcosWeights.loadBackboneFromClassifier(n, Module.buildMeta(() -> Models.create("resnet50")).stateDict()));
        assertTrue(e.getMessage().contains("layer1.0.conv1.weight"), e.getMessage());
        assertSameState(before, n.stateDict());
    }
}
