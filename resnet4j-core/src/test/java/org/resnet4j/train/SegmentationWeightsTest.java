package org.resnet4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Module;
import org.resnet4j.segmentation.SegmentationModel;
import org.resnet4j.segmentation.SegmentationModels;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.testing.FormulaWeights;

/**
 * Segmentation weights by torchvision's names: a whole state_dict, refused whole on a wrong key
 * or shape; an ImageNet classification ResNet into the backbone, fc dropped.
 */
class SegmentationWeightsTest {
    @TempDir
    Path dir;

    private Path write(String name, Map<String, Tensor> state) throws Exception {
        Path p = dir.resolve(name);
        SafeTensors.write(p, state, Map.of());
        return p;
    }

    private static Map<String, Tensor> snapshot(Module m) {
        LinkedHashMap<String, Tensor> s = new LinkedHashMap<>();
        m.stateDict().forEach((k, v) -> s.put(k, v.copy()));
        return s;
    }

    private static void assertSameState(Map<String, Tensor> want, Module got) {
        Map<String, Tensor> g = got.stateDict();
        assertEquals(want.keySet(), g.keySet());
        want.forEach((k, v) -> assertEquals(0f, Tensor.maxAbsDiff(v, g.get(k)), k));
    }

    @Test
    void aSegmentationStateDictLoadsByName() throws Exception {
        SegmentationModel src = SegmentationModels.create("deeplabv3_resnet18", 5, true);
        FormulaWeights.apply(src);
        Path file = write("deeplab.safetensors", src.stateDict());
        SegmentationModel dst = SegmentationModels.create("deeplabv3_resnet18", 5, true);
        SegmentationWeights.load(dst, file);
        assertSameState(src.stateDict(), dst);
        // without the auxiliary head the file's aux_classifier keys, and only those, are left out
        SegmentationModel noAux = SegmentationModels.create("deeplabv3_resnet18", 5, false);
        SegmentationWeights.load(noAux, file);
        assertEquals(0f, Tensor.maxAbsDiff(src.stateDict().get("classifier.4.weight"), noAux.stateDict().get("classifier.4.weight")));
    }

    @Test
    void aWrongKeyOrShapeIsRefusedBeforeAnythingIsWritten() throws Exception {
        SegmentationModel other = SegmentationModels.create("fcn_resnet18", 6, true); // 6 classes: the last convs differ
        FormulaWeights.apply(other);
        Path wrongShape = write("six.safetensors", other.stateDict());
        SegmentationModel dst = SegmentationModels.create("fcn_resnet18", 5, true);
        Map<String, Tensor> before = snapshot(dst);
        var e = assertThrows(IllegalArgumentException.class, () -> SegmentationWeights.load(dst, wrongShape));
        assertTrue(e.getMessage().contains("classifier.4.weight: expected [5, 128, 1, 1], got [6, 128, 1, 1]"), e.getMessage());
        assertSameState(before, dst);

        LinkedHashMap<String, Tensor> renamed = new LinkedHashMap<>(SegmentationModels.create("fcn_resnet18", 5, true).stateDict());
        renamed.put("classifier.5.weight", renamed.remove("classifier.4.weight"));
        Path wrongKey = write("renamed.safetensors", renamed);
        e = assertThrows(IllegalArgumentException.class, () -> SegmentationWeights.load(dst, wrongKey));
        assertTrue(e.getMessage().contains("classifier.5.weight") && e.getMessage().contains("classifier.4.weight"), e.getMessage());
        assertSameState(before, dst);
    }

    @Test
    void anImageNetResNetLoadsIntoTheBackboneWithoutItsFc() throws Exception {
        Module resnet = Models.create("resnet18");
        FormulaWeights.apply(resnet);
        Path file = write("resnet18.safetensors", resnet.stateDict());
        SegmentationModel seg = SegmentationModels.create("fcn_resnet18", 21, true);
        Map<String, Tensor> heads = snapshot(seg);
        heads.keySet().removeIf(k -> k.startsWith("backbone."));
        SegmentationWeights.loadImageNetBackbone(seg, file);
        Map<String, Tensor> got = seg.stateDict();
        int compared = 0;
        for (var e : resnet.stateDict().entrySet()) {
            if (e.getKey().startsWith("fc.")) continue;
            assertEquals(0f, Tensor.maxAbsDiff(e.getValue(), got.get("backbone." + e.getKey())), e.getKey());
            compared++;
        }
        assertEquals(compared, got.keySet().stream().filter(k -> k.startsWith("backbone.")).count());
        heads.forEach((k, v) -> assertEquals(0f, Tensor.maxAbsDiff(v, got.get(k)), k + " keeps its initialization"));

        // one tensor of another shape (as a bottleneck's 1x1 conv): refused, nothing written
        Map<String, Tensor> before = snapshot(seg);
        LinkedHashMap<String, Tensor> bad = new LinkedHashMap<>(resnet.stateDict());
        bad.put("layer2.0.conv1.weight", Tensor.zeros(128, 64, 1, 1));
        Path badFile = write("bad.safetensors", bad);
        var e = assertThrows(IllegalArgumentException.class, () -> SegmentationWeights.loadImageNetBackbone(seg, badFile));
        assertTrue(e.getMessage().contains("layer2.0.conv1.weight: expected [128, 64, 3, 3], got [128, 64, 1, 1]"), e.getMessage());
        assertSameState(before, seg);
        // a segmentation file is not a classification one
        Path segFile = write("seg.safetensors", seg.stateDict());
        e = assertThrows(IllegalArgumentException.class, () -> SegmentationWeights.loadImageNetBackbone(seg, segFile));
        assertTrue(e.getMessage().contains("backbone.conv1.weight"), e.getMessage());
    }

    /**
     * torch.save files of torchvision's own state_dicts (tools/make_seg_goldens.py): each tensor a
     * stride-0 view of (k + 1) / 1000, k the key's index in torchvision's order (num_batches_tracked: k).
     */
    @Test
    void torchvisionsOwnPthFilesLoadByName() throws Exception {
        SegmentationModel seg = SegmentationModels.create("deeplabv3_resnet50", 21, true);
        SegmentationWeights.load(seg, Path.of("src/test/resources/pth/deeplabv3_resnet50_expanded.pth"));
        int k = 0;
        for (var e : seg.stateDict().entrySet()) {
            float want = e.getKey().endsWith("num_batches_tracked") ? k : (k + 1) / 1000f;
            for (float v : e.getValue().data()) assertEquals(want, v, 1e-6f * Math.max(1f, want), e.getKey());
            k++;
        }
        assertEquals(java.nio.file.Files.readAllLines(Path.of("src/test/resources/goldens/keys_deeplabv3_resnet50.txt")).size(), k,
                "every entry of torchvision's deeplabv3_resnet50 compared");

        Map<String, Tensor> heads = snapshot(seg);
        heads.keySet().removeIf(key -> key.startsWith("backbone."));
        SegmentationWeights.loadImageNetBackbone(seg, Path.of("src/test/resources/pth/resnet50_expanded.pth"));
        k = 0;
        for (var e : seg.stateDict().entrySet()) {
            if (!e.getKey().startsWith("backbone.")) continue;
            // resnet50's keys are the backbone's in the same order, with fc.weight and fc.bias after them
            float want = e.getKey().endsWith("num_batches_tracked") ? k : (k + 1) / 1000f;
            assertEquals(want, e.getValue().data()[0], 1e-6f * Math.max(1f, want), e.getKey());
            k++;
        }
        Map<String, Tensor> now = seg.stateDict();
        heads.forEach((key, v) -> assertEquals(0f, Tensor.maxAbsDiff(v, now.get(key)), key + " keeps the segmentation file's values"));
    }
}
