package org.resnet4j.detection;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.resnet4j.io.pth.Pth;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.tensor.Tensor;

/**
 * A torchvision FCOS state_dict saved with {@code torch.save}, read through io.pth and loaded by
 * name, detects what torchvision detects: tools/make_fcos_pth.py's fixture (resnet4j's
 * fcos_resnet18_fpn as torchvision builds it for given weights, every weight a view of a small
 * storage, the class bias adjusted so that tens of boxes pass the 0.2 threshold with margins on
 * every decision), on a drawn 96x128 image, against torchvision 0.14's float32 eval-mode output.
 */
class FcosPthTest {
    private static final Path PTH = Path.of("src/test/resources/pth/fcos_resnet18_fpn_views.pth");
    private static final Path GOLDEN = Path.of("src/test/resources/goldens/fcos_pth_detections.safetensors");

    @Test
    void aTorchSavedStateDictDetectsAsTorchvision() throws Exception {
        SafeTensors.Contents golden = SafeTensors.read(GOLDEN);
        Map<String, Tensor> want = golden.tensors();
        LinkedHashMap<String, Tensor> state = Pth.read(PTH);
        Fcos m = Fcos.create("fcos_resnet18_fpn", 91, true);
        FcosWeights.loadFcos(m, state);
        m.eval();
        Detections d = m.detect(List.of(want.get("image"))).getFirst();

        int n = Integer.parseInt(golden.metadata().get("detections"));
        assertTrue(n >= 20, "the fixture yields tens of detections, got " + n);
        assertEquals(n, d.size(), "detections");
        float[] labels = want.get("labels").data();
        int[] wantLabels = new int[n];
        for (int i = 0; i < n; i++) wantLabels[i] = Math.round(labels[i]);
        assertArrayEquals(wantLabels, d.labels(), "labels, best first");
        assertTrue(java.util.Arrays.stream(wantLabels).distinct().count() >= 3, "several classes");
        double box = Tensor.maxAbsDiff(want.get("boxes"), d.boxes()), score = Tensor.maxAbsDiff(want.get("scores"), d.scores());
        assertTrue(box < 1e-3, "boxes within 1e-3 px, off by " + box);
        assertTrue(score < 3e-5, "scores within 3e-5 (7.4e-6 measured; the order margin is 8.2e-5), off by " + score);
    }
}
