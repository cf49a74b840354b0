package org.resnet4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.train.MetricsLog;
import org.resnet4j.tensor.Tensor;

class TrainerTest {
    @TempDir
    Path dir;

    private TrainConfig tiny(String name) {
        TrainConfig c = new TrainConfig();
        c.model = "resnet8";
        c.data = "shapes";
        c.shapesTrain = 192;
        c.shapesTest = 64;
        c.batchSize = 32;
        c.epochs = 3;
        c.lr = 0.05;
        c.dropout = 0.1; // exercises the per-iteration dropout reseeding
        c.ema = 0.9;
        c.threads = 2;
        c.workers = 2;
        c.runsDir = dir.toString();
        c.name = name;
        c.logIterations = true;
        return c;
    }

    private static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream());
    }

    private static final class Interrupt extends RuntimeException {}

    /** A run killed in epoch 2 and resumed ends with exactly the weights of an uninterrupted run. */
    @Test
    void resumeIsExact() throws Exception {
        Trainer.Result full = new Trainer(tiny("full"), quiet()).fit();

        TrainConfig broken = tiny("broken");
        assertThrows(Interrupt.class, () -> new Trainer(broken, quiet()).onStep((epoch, it) -> {
            if (epoch == 1 && it == 9) throw new Interrupt();
        }).fit());
        assertEquals(1, Checkpoint.readState(dir.resolve("broken/checkpoints/last.safetensors")).epoch());

        TrainConfig again = tiny("broken");
        again.resume = true;
        Trainer.Result resumed = new Trainer(again, quiet()).fit();

        var a = full.model().stateDict();
        var b = resumed.model().stateDict();
        for (String k : a.keySet()) assertArrayEquals(a.get(k).data(), b.get(k).data(), k);
        assertEquals(full.test().top1(), resumed.test().top1());
        // metrics rows: one per epoch, the redone epoch 2 not duplicated
        assertArrayEquals(new double[] {1, 2, 3}, MetricsLog.column(dir.resolve("broken"), "epoch"));
        assertArrayEquals(MetricsLog.column(dir.resolve("full"), "train_loss"), MetricsLog.column(dir.resolve("broken"), "train_loss"));
        // the killed epoch's per-iteration rows are redone, not duplicated
        assertEquals(Files.readAllLines(dir.resolve("full/iterations.csv")), Files.readAllLines(dir.resolve("broken/iterations.csv")));
    }

    @Test
    void resumeRefusesAnotherRecipeAndAFreshRunStartsClean() throws Exception {
        TrainConfig c = tiny("recipe");
        c.epochs = 1;
        new Trainer(c, quiet()).fit();
        TrainConfig other = tiny("recipe");
        other.resume = true;
        other.lr = 0.2;
        var e = assertThrows(IllegalArgumentException.class, () -> new Trainer(other, quiet()).fit());
        assertTrue(e.getMessage().contains("lr=0.05") && e.getMessage().contains("0.2"), e.getMessage());

        // same name without --resume: the old run's checkpoints are gone before the new one writes
        Path stale = dir.resolve("recipe/checkpoints/epoch-0009.safetensors");
        Files.copy(dir.resolve("recipe/checkpoints/last.safetensors"), stale);
        TrainConfig fresh = tiny("recipe");
        fresh.epochs = 1;
        new Trainer(fresh, quiet()).fit();
        assertTrue(!Files.exists(stale), "stale epoch file removed");
        assertEquals(1, Checkpoint.readState(dir.resolve("recipe/checkpoints/last.safetensors")).epoch());
    }

    /** A weight blown up during epoch 2 (as an exploding run would): the run stops, epoch 1's checkpoint survives. */
    @Test
    void divergingLossStopsAndKeepsTheLastGoodCheckpoint() throws Exception {
        TrainConfig c = tiny("diverge");
        c.ema = 0;
        Path last = dir.resolve("diverge/checkpoints/last.safetensors");
        byte[][] afterEpoch1 = new byte[1][];
        var e = assertThrows(Trainer.DivergedException.class, () -> new Trainer(c, quiet())
                .onEpoch((done, model, src) -> {
                    if (done == 1) afterEpoch1[0] = Files.readAllBytes(last);
                })
                .withModel(mc -> {
                    var m = org.resnet4j.models.Models.create("resnet8", mc);
                    poisoned = m;
                    return m;
                })
                .onStep((epoch, it) -> {
                    // 6 iterations per epoch: mid epoch 2
                    if (epoch == 1 && it == 8) poisoned.namedParameters().get("conv1.weight").value().fill(Float.NaN);
                })
                .fit());
        assertTrue(e.getMessage().contains("Last good checkpoint") && e.getMessage().contains("epoch 1"), e.getMessage());
        assertArrayEquals(afterEpoch1[0], Files.readAllBytes(last), "the last good checkpoint must be untouched");
    }

    private static org.resnet4j.nn.Module poisoned;

    @Test
    void writesMetricsCurvesAndACheckpointThatEvaluatesTheSame() throws Exception {
        TrainConfig c = tiny("artifacts");
        c.epochs = 2;
        List<String> started = new java.util.ArrayList<>();
        long[] lastDone = {0};
        List<Integer> epochsSeen = new java.util.ArrayList<>();
        Trainer.Result r = new Trainer(c, quiet())
                .progress(new TrainingProgress() {
                    @Override
                    public void start(String label, long images) {
                        started.add(label + " of " + images);
                        lastDone[0] = 0;
                    }

                    @Override
                    public void update(long done, String status) {
                        assertTrue(done > lastDone[0] && status.startsWith("loss "), done + " " + status);
                        lastDone[0] = done;
                    }
                })
                .onEpoch((done, model, src) -> epochsSeen.add(done))
                .onEpoch((done, model, src) -> epochsSeen.add(-done))
                .fit();
        assertEquals(List.of("epoch 1/2 of 192", "epoch 2/2 of 192"), started);
        assertEquals(List.of(0, 0, 1, -1, 2, -2), epochsSeen, "every listener, in the order added, before training and after each epoch");
        Path run = dir.resolve("artifacts");
        for (String f : List.of("metrics.csv", "metrics.jsonl", "config.json",
                "checkpoints/last.safetensors", "checkpoints/best.safetensors")) {
            assertTrue(Files.exists(run.resolve(f)), f);
        }
        assertEquals(2, Files.readAllLines(run.resolve("metrics.jsonl")).size());
        assertEquals(2L, org.resnet4j.io.json.Json.parseObject(Files.readAllLines(run.resolve("metrics.jsonl")).get(1)).get("epoch"), "metrics.jsonl");

        TrainedModel tm = TrainedModel.load(run.resolve("checkpoints/last.safetensors"));
        assertTrue(tm.ema());
        assertEquals(6, tm.classes().size());
        try (var test = new org.resnet4j.data.DataLoader(r.source().test(), r.source().testTransform(), 64, false, 0, 1, 2, false)) {
            assertEquals(r.test().top1(), Evaluation.run(tm.model(), test).top1(), "checkpoint (EMA weights) evaluates as the run did");
        }
    }

    @Test
    void configReadsJsonAndRefusesUnknownKeysAndWrongTypes() throws Exception {
        Path json = dir.resolve("c.json"), bad = dir.resolve("bad.json"), wrongType = dir.resolve("type.json"), yaml = dir.resolve("c.yaml");
        Files.writeString(json, "{\"model\": \"resnet56\", \"epochs\": 7, \"lr\": 0.05, \"weightDecay\": 0.0001, \"freeze\": [\"conv1\", \"layer1\"]}");
        Files.writeString(bad, "{\"model\": \"resnet56\", \"learningRate\": 0.1}");
        Files.writeString(wrongType, "{\"epochs\": 7.5}");
        Files.writeString(yaml, "model: resnet56\n");
        TrainConfig a = TrainConfig.read(json);
        assertEquals("resnet56", a.model);
        assertEquals(7, a.epochs);
        assertEquals(0.05, a.lr);
        assertEquals(1e-4, a.weightDecay);
        assertEquals(List.of("conv1", "layer1"), a.freeze);
        assertEquals("cosine", a.schedule, "missing keys keep their defaults");
        var e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.read(bad));
        assertTrue(e.getMessage().contains("learningRate") && e.getMessage().contains("bad.json"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.read(wrongType));
        assertTrue(e.getMessage().contains("'epochs'") && e.getMessage().contains("7.5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.read(yaml));
        assertTrue(e.getMessage().contains("YAML") && e.getMessage().contains("c.yaml"), e.getMessage());
        assertEquals(a.toJson(), TrainConfig.fromMap(a.toMap()).toJson());
        assertEquals(a.toJson(), TrainConfig.fromMap(org.resnet4j.io.json.Json.parseObject(a.toJson())).toJson(), "config.json reads back");
    }

    @Test
    void topkCountsTiesAgainstTheLabel() {
        Tensor logits = Tensor.of(new float[] {1, 1, 1, 0, 5, 2}, 2, 3);
        int[] hits = Evaluation.topk(logits, new int[] {1, 2});
        assertArrayEquals(new int[] {0, 2}, hits);
    }
}
