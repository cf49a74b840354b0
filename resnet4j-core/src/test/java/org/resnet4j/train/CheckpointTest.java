package org.resnet4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.io.WeightsFormatException;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.Parameter;
import org.resnet4j.tensor.Tensor;

class CheckpointTest {
    @TempDir
    Path dir;

    /** A training run in miniature: model, optimizer over the standard split, EMA. */
    record Run(Module model, Optimizer opt, Ema ema) {
        static Run sgd(int classes) {
            Module m = Models.create("resnet20", ModelConfig.defaults(classes));
            return new Run(m, new SGD(ParamGroups.of(m, true), 0.1, 0.9, 0, 5e-4, true), new Ema(m, 0.99, true));
        }

        void steps(int from, int to) {
            for (int s = from; s < to; s++) {
                int k = 0;
                for (Parameter p : model.parameters()) {
                    p.zeroGrad();
                    p.addGrad(Tensor.randn(1000L * s + k++, p.value().shape()));
                }
                opt.step();
                ema.update();
            }
        }
    }

    private static Checkpoint.TrainState state(long epoch) {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("model", "resnet20");
        config.put("epochs", 30L);
        config.put("lr", 0.1);
        config.put("nesterov", true);
        config.put("milestones", List.of(10L, 20L));
        config.put("data", Map.of("root", "/data/cifar10"));
        return new Checkpoint.TrainState(epoch, epoch * 391, 0.875, config, new long[] {Long.MIN_VALUE, -1, 42, Long.MAX_VALUE},
                Map.of("spec", "multistep:10,20:0.1", "base_lr", 0.1));
    }

    private static Map<String, float[]> snapshot(Map<String, Tensor> m) {
        Map<String, float[]> out = new LinkedHashMap<>();
        m.forEach((k, v) -> out.put(k, v.data().clone()));
        return out;
    }

    private static void assertSame(Map<String, float[]> want, Map<String, Tensor> got) {
        assertEquals(want.keySet(), got.keySet());
        want.forEach((k, v) -> assertArrayEquals(v, got.get(k).data(), k));
    }

    @Test
    void roundTripRestoresEverythingAndContinuesIdentically() throws Exception {
        Run a = Run.sgd(10);
        a.steps(0, 2);
        Path file = dir.resolve("ckpt.safetensors");
        Checkpoint.save(file, a.model(), a.opt(), a.ema(), state(3));

        Run b = Run.sgd(10);
        for (Tensor t : b.model().stateDict().values()) t.fill(0.5f); // nothing in common with a
        Checkpoint.TrainState st = Checkpoint.load(file, b.model(), b.opt(), b.ema());
        assertEquals(state(3), st);
        assertEquals(st, Checkpoint.readState(file));
        assertSame(snapshot(a.model().stateDict()), b.model().stateDict());
        assertSame(snapshot(a.opt().stateDict()), b.opt().stateDict());
        assertSame(snapshot(a.ema().stateDict()), b.ema().stateDict());
        assertEquals(a.ema().updates(), b.ema().updates());
        assertTrue(b.opt().stateDict().containsKey("momentum_buffer/layer1.0.conv1.weight"));

        a.steps(2, 4);
        b.steps(2, 4);
        assertSame(snapshot(a.model().stateDict()), b.model().stateDict());
        assertSame(snapshot(a.ema().stateDict()), b.ema().stateDict());

        // the layout any safetensors reader sees
        SafeTensors.Contents c = SafeTensors.read(file);
        assertTrue(c.tensors().containsKey("model/layer3.2.bn2.running_var"));
        assertTrue(c.tensors().containsKey("optim/momentum_buffer/fc.bias"));
        assertTrue(c.tensors().containsKey("ema/fc.weight"));
        assertEquals(Set.of(Checkpoint.METADATA_KEY), c.metadata().keySet());
    }

    @Test
    void wrongShapedModelKeyIsRefusedAndNothingIsOverwritten() throws Exception {
        Run a = Run.sgd(10);
        a.steps(0, 1);
        Path file = dir.resolve("ckpt.safetensors");
        Checkpoint.save(file, a.model(), a.opt(), a.ema(), state(1));

        Run b = Run.sgd(100); // other head
        b.steps(5, 6);
        Map<String, float[]> model = snapshot(b.model().stateDict()), opt = snapshot(b.opt().stateDict()),
                ema = snapshot(b.ema().stateDict());
        var e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.load(file, b.model(), b.opt(), b.ema()));
        assertTrue(e.getMessage().contains("model/fc.weight: expected shape [100, 64], got [10, 64]"), e.getMessage());
        assertTrue(e.getMessage().contains("optim/momentum_buffer/fc.bias"), e.getMessage());
        assertTrue(e.getMessage().contains("ema/fc.bias"), e.getMessage());
        assertSame(model, b.model().stateDict());
        assertSame(opt, b.opt().stateDict());
        assertSame(ema, b.ema().stateDict());
        assertEquals(1, b.ema().updates());
    }

    @Test
    void badOptimizerStateLeavesTheModelUntouched() throws Exception {
        Run a = Run.sgd(10);
        a.steps(0, 1);
        Path file = dir.resolve("ckpt.safetensors");
        Checkpoint.save(file, a.model(), a.opt(), a.ema(), state(1));
        SafeTensors.Contents c = SafeTensors.read(file);
        LinkedHashMap<String, Tensor> t = new LinkedHashMap<>(c.tensors());
        t.put("optim/momentum_buffer/layer2.1.conv2.weight", Tensor.zeros(32, 32, 3, 1));
        t.remove("model/layer1.0.bn1.running_var");
        Path broken = dir.resolve("broken.safetensors");
        SafeTensors.write(broken, t, c.metadata());

        Run b = Run.sgd(10);
        Map<String, float[]> model = snapshot(b.model().stateDict());
        var e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.load(broken, b.model(), b.opt(), b.ema()));
        assertTrue(e.getMessage().contains("optim/momentum_buffer/layer2.1.conv2.weight: expected shape [32, 32, 3, 3], got [32, 32, 3, 1]"),
                e.getMessage());
        assertTrue(e.getMessage().contains("model/layer1.0.bn1.running_var"), e.getMessage());
        assertSame(model, b.model().stateDict());
        assertTrue(b.opt().stateDict().isEmpty());

        // other optimizer, or no EMA in the file: refused before anything is written
        Module m = Models.create("resnet20");
        Optimizer adam = new AdamW(ParamGroups.of(m, true), 1e-3, 0.05);
        e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.load(file, m, adam, null));
        assertTrue(e.getMessage().contains("holds SGD state, this run uses AdamW"), e.getMessage());
        Path noEma = dir.resolve("noema.safetensors");
        Checkpoint.save(noEma, a.model(), a.opt(), null, state(1));
        e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.load(noEma, b.model(), b.opt(), b.ema()));
        assertTrue(e.getMessage().contains("no EMA"), e.getMessage());
        assertSame(model, b.model().stateDict());
        Checkpoint.load(noEma, b.model(), null, null); // weights only (fine-tuning, evaluation)
        assertSame(snapshot(a.model().stateDict()), b.model().stateDict());

        // a plain weights file is not a checkpoint
        Path weights = dir.resolve("w.safetensors");
        SafeTensors.write(weights, a.model().stateDict(), Map.of());
        assertThrows(WeightsFormatException.class, () -> Checkpoint.load(weights, b.model(), null, null));
    }

    // ------------------------------------------------------------ CheckpointManager
    private static Set<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return new TreeSet<>(s.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void managerKeepsLastNAndBest() throws Exception {
        Run r = Run.sgd(10);
        CheckpointManager mgr = new CheckpointManager(dir.resolve("run"), 2);
        Checkpoint.TrainState st = Checkpoint.TrainState.start(Map.of("model", "resnet20"), new long[] {1}, Map.of());
        double[] metric = {0.5, 0.7, 0.6, 0.8, 0.75};
        boolean[] best = new boolean[5];
        for (int e = 1; e <= 5; e++) {
            r.steps(e, e + 1);
            CheckpointManager.Saved s = mgr.save(r.model(), r.opt(), r.ema(), st.withProgress(e, e * 10L, new long[] {e}), metric[e - 1]);
            st = s.state();
            best[e - 1] = s.best();
        }
        assertArrayEquals(new boolean[] {true, true, false, true, false}, best);
        assertEquals(Set.of("best.safetensors", "epoch-0004.safetensors", "epoch-0005.safetensors", "last.safetensors"),
                names(mgr.dir()));
        assertEquals(List.of(mgr.epochFile(4), mgr.epochFile(5)), mgr.epochFiles());
        Checkpoint.TrainState last = Checkpoint.readState(mgr.last()), bestState = Checkpoint.readState(mgr.best());
        assertEquals(5, last.epoch());
        assertEquals(0.8, last.bestMetric());
        assertArrayEquals(new long[] {5}, last.rngState());
        assertEquals(4, bestState.epoch());
        assertEquals(0.8, bestState.bestMetric());
        assertEquals(mgr.last(), mgr.resumeFile().orElseThrow());
        Checkpoint.load(mgr.last(), r.model(), r.opt(), r.ema()); // complete and loadable

        assertTrue(new CheckpointManager(dir.resolve("loss"), 1, false).improves(0.1, 0.2));
        assertFalse(mgr.improves(Double.NaN, 0.2));
    }

    @Test
    void noTempFilesSurviveAFailedOrInterruptedSave() throws Exception {
        Path run = Files.createDirectories(dir.resolve("run"));
        // leftovers of a killed process, and a file that is not ours
        Files.writeString(run.resolve(".last.safetensors.1f2e3d.tmp"), "partial");
        Files.writeString(run.resolve(".notes.tmp"), "mine");
        CheckpointManager mgr = new CheckpointManager(run, 3);
        assertEquals(Set.of(".notes.tmp"), names(run));

        Run r = Run.sgd(10);
        Checkpoint.TrainState st = Checkpoint.TrainState.start(Map.of(), null, Map.of()).withProgress(1, 10, null);
        mgr.save(r.model(), r.opt(), r.ema(), st, 0.5);
        // best.safetensors cannot be replaced (a non-empty directory sits there): the save fails ...
        Files.delete(mgr.best());
        Files.createDirectories(mgr.best().resolve("blocker"));
        assertThrows(IOException.class, () -> mgr.save(r.model(), r.opt(), r.ema(), st.withProgress(2, 20, null), 0.9));
        // ... leaving no temp file, and last already complete for epoch 2
        assertEquals(Set.of(".notes.tmp", "best.safetensors", "epoch-0001.safetensors", "epoch-0002.safetensors", "last.safetensors"),
                names(run));
        assertEquals(2, Checkpoint.readState(mgr.last()).epoch());
        assertEquals(1, Checkpoint.readState(mgr.epochFile(1)).epoch());
    }
}
