package org.resnet4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.data.SyntheticShapes;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;

class TransferTest {
    @TempDir
    Path dir;

    private static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream());
    }

    @Test
    void backboneLoadsAndAHeadOfAnotherSizeIsReplaced() throws Exception {
        Module src = Models.create("resnet20");
        Path w = dir.resolve("w.safetensors");
        SafeTensors.write(w, src.stateDict(), null);
        Module dst = Models.create("resnet20", ModelConfig.defaults(4));
        Tensor freshHead = dst.stateDict().get("fc.weight").copy();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Transfer.loadBackbone(dst, w, new PrintStream(log, true));
        for (var e : src.stateDict().entrySet()) {
            if (e.getKey().startsWith("fc.")) continue;
            assertArrayEquals(e.getValue().data(), dst.stateDict().get(e.getKey()).data(), e.getKey());
        }
        assertEquals(0f, Tensor.maxAbsDiff(freshHead, dst.stateDict().get("fc.weight")));
        assertTrue(log.toString().contains("new head"), log.toString());
    }

    @Test
    void aTrainingCheckpointSeedsAnotherRunAndNewHeadKeepsTheFreshClassifier() throws Exception {
        Module src = Models.create("resnet20", ModelConfig.defaults(5));
        Path ckpt = dir.resolve("best.safetensors");
        Checkpoint.save(ckpt, src, null, null, Checkpoint.TrainState.start(Map.of("model", "resnet20"), new long[] {1, 2}, Map.of()));
        Module same = Models.create("resnet20", ModelConfig.defaults(5));
        Transfer.loadBackbone(same, ckpt, quiet());
        for (var e : src.stateDict().entrySet()) {
            assertArrayEquals(e.getValue().data(), same.stateDict().get(e.getKey()).data(), e.getKey());
        }
        Module fresh = Models.create("resnet20", ModelConfig.defaults(5));
        Tensor freshHead = fresh.stateDict().get("fc.weight").copy();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Transfer.loadBackbone(fresh, ckpt, true, new PrintStream(log, true));
        assertEquals(0f, Tensor.maxAbsDiff(freshHead, fresh.stateDict().get("fc.weight")));
        assertArrayEquals(src.stateDict().get("conv1.weight").data(), fresh.stateDict().get("conv1.weight").data());
        assertTrue(log.toString().contains("new head, as asked"), log.toString());
    }

    @Test
    void aDifferentBackboneIsRefusedAndNothingChanges() throws Exception {
        Path w = dir.resolve("r32.safetensors");
        SafeTensors.write(w, Models.create("resnet32").stateDict(), null);
        Module dst = Models.create("resnet20");
        LinkedHashMap<String, Tensor> before = new LinkedHashMap<>();
        dst.stateDict().forEach((k, v) -> before.put(k, v.copy()));
        var e = assertThrows(IllegalArgumentException.class, () -> Transfer.loadBackbone(dst, w, quiet()));
        assertTrue(e.getMessage().contains("r32.safetensors") && e.getMessage().contains("layer1.3.conv1.weight"), e.getMessage());
        dst.stateDict().forEach((k, v) -> assertEquals(0f, Tensor.maxAbsDiff(before.get(k), v), k));
    }

    @Test
    void headGroupsCarryTheirOwnLearningRateAndFrozenParametersStayInTheOptimizer() {
        Module m = Models.create("resnet20");
        m.freeze("layer1");
        List<ParamGroup> groups = Transfer.groups(m, true, 10);
        long total = 0;
        boolean headSeen = false;
        for (ParamGroup g : groups) {
            total += g.numel();
            boolean head = g.name().endsWith("_head");
            assertEquals(head ? 10 : 1, g.lrScale(), g.name());
            for (String k : g.params().keySet()) assertEquals(head, k.startsWith("fc."), k + " in " + g.name());
            headSeen |= g.params().containsKey("fc.weight");
        }
        assertTrue(headSeen);
        assertEquals(m.parameterCount(), total, "every parameter, frozen ones too");
        assertFalse(m.namedParameters().get("layer1.0.conv1.weight").requiresGrad(), "freezing survives building the groups");
    }

    /** Fine-tuning a shapes model on a 2-class image folder: frozen layers and BN statistics do not move. */
    @Test
    void finetuneKeepsFrozenLayersAndStatisticsAndTrainsTheHead() throws Exception {
        TrainConfig pre = new TrainConfig();
        pre.model = "resnet8";
        pre.shapesTrain = 128;
        pre.shapesTest = 32;
        pre.batchSize = 32;
        pre.epochs = 1;
        pre.threads = 2;
        pre.runsDir = dir.toString();
        pre.name = "pre";
        Trainer.Result r = new Trainer(pre, quiet()).fit();
        Path backbone = dir.resolve("backbone.safetensors");
        SafeTensors.write(backbone, r.model().stateDict(), null);

        // an ImageFolder with circles and squares
        SyntheticShapes shapes = new SyntheticShapes(400, 7);
        int[] count = new int[2];
        for (int i = 0; i < shapes.size() && (count[0] < 24 || count[1] < 24); i++) {
            int label = shapes.label(i);
            if (label > 1 || count[label] >= 24) continue;
            for (String split : List.of("train", "val")) {
                Path d = dir.resolve("folder").resolve(split).resolve(SyntheticShapes.CLASSES.get(label));
                Files.createDirectories(d);
                ImageIO.write(org.resnet4j.data.ImageDecoder.toImage(shapes.get(i).image(), 1), "png", d.resolve(i + ".png").toFile());
            }
            count[label]++;
        }
        TrainConfig ft = new TrainConfig();
        ft.model = "resnet8";
        ft.data = dir.resolve("folder").toString();
        ft.imageSize = 32;
        ft.batchSize = 16;
        ft.epochs = 2;
        ft.lr = 0.05;
        ft.threads = 2;
        ft.weights = backbone.toString();
        ft.freeze = List.of("conv1", "layer1");
        ft.freezeBn = true;
        ft.headLrScale = 5;
        ft.runsDir = dir.toString();
        ft.name = "ft";
        Trainer.Result f = new Trainer(ft, quiet()).fit();
        Map<String, Tensor> before = r.model().stateDict(), after = f.model().stateDict();
        for (String k : List.of("conv1.weight", "layer1.0.conv1.weight", "bn1.running_mean", "layer2.0.bn1.running_var", "layer3.0.bn2.weight")) {
            assertArrayEquals(before.get(k).data(), after.get(k).data(), k + " must not change");
        }
        assertFalse(java.util.Arrays.equals(before.get("layer2.0.conv1.weight").data(), after.get("layer2.0.conv1.weight").data()),
                "unfrozen layers train");
        assertArrayEquals(new int[] {2, 64}, after.get("fc.weight").shape());
    }
}
