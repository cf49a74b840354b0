package org.resnet4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.train.MetricsLog;
import org.resnet4j.train.TrainConfig;
import org.resnet4j.train.Trainer;

/**
 * The core's {@link Trainer} with Spark replicas computing its steps ({@link SparkTraining}, what
 * {@code train --spark} runs) against the same Trainer on one machine: same run folder, metrics
 * and checkpoints, same weights.
 */
@Timeout(value = 90)
class SparkTrainingTest {
    @TempDir
    Path runs;

    /** resnet8 on 64 shapes, batch 16: 4 steps an epoch, 2 epochs, a cosine schedule, one compute thread. */
    private TrainConfig config(String name) {
        TrainConfig c = new TrainConfig();
        c.model = "resnet8";
        c.data = "shapes";
        c.shapesTrain = 64;
        c.shapesTest = 32;
        c.batchSize = 16;
        c.epochs = 2;
        c.lr = 0.02;
        c.threads = 1;
        c.workers = 0;
        c.seed = 5;
        c.runsDir = runs.toString();
        c.name = name;
        return c;
    }

    private static Trainer.Result fit(TrainConfig c, int replicas, boolean syncBn) throws IOException {
        PrintStream quiet = new PrintStream(PrintStream.nullOutputStream());
        if (replicas == 0) return new Trainer(c, quiet).fit();
        return SparkTraining.fit(LocalSpark.shared(), c, replicas, syncBn, new Trainer(c, quiet));
    }

    /** One replica computes exactly the single-machine gradient: the runs are bit for bit the same, their folders alike. */
    @Test
    void oneReplicaIsTheTrainerOnOneMachine() throws IOException {
        Trainer.Result local = fit(config("local"), 0, false);
        Trainer.Result spark = fit(config("spark"), 1, false);
        SingleMachine.Difference d = SingleMachine.difference(spark.model(), local.model());
        System.out.printf(Locale.ROOT, "Trainer on 1 Spark replica vs on one machine, 8 steps: %s%n", d);
        assertEquals(0.0, d.tensor(), "weights: " + d);
        for (String column : List.of("train_loss", "train_acc", "test_loss", "test_top1", "lr")) {
            assertEquals(MetricsLog.column(local.runDir(), column).length, 2);
            assertEquals(List.of(boxed(MetricsLog.column(local.runDir(), column))), List.of(boxed(MetricsLog.column(spark.runDir(), column))), column);
        }
        for (String f : List.of("config.json", "metrics.csv", "checkpoints/last.safetensors", "checkpoints/best.safetensors")) {
            assertTrue(Files.exists(spark.runDir().resolve(f)), f + " in " + spark.runDir());
        }
    }

    /** A run killed in its second epoch and resumed from the checkpoint ends as an uninterrupted one, bit for bit. */
    @Test
    void aResumedRunOnSparkEndsAsAnUninterruptedOne() throws IOException {
        Trainer.Result whole = fit(config("whole"), 2, false);
        TrainConfig first = config("resumed");
        PrintStream quiet = new PrintStream(PrintStream.nullOutputStream());
        Trainer killed = new Trainer(first, quiet).onStep((epoch, iteration) -> {
            if (iteration == 5) throw new IllegalStateException("killed in step 5");
        });
        var e = assertThrows(IllegalStateException.class, () -> SparkTraining.fit(LocalSpark.shared(), first, 2, false, killed));
        assertEquals("killed in step 5", e.getMessage());
        TrainConfig rest = config("resumed");
        rest.resume = true;
        Trainer.Result resumed = fit(rest, 2, false);
        SingleMachine.Difference d = SingleMachine.difference(resumed.model(), whole.model());
        System.out.printf(Locale.ROOT, "Trainer on 2 Spark replicas, resumed after epoch 1 vs uninterrupted: %s%n", d);
        assertEquals(0.0, d.tensor(), "weights: " + d);
        assertEquals(List.of(boxed(MetricsLog.column(whole.runDir(), "test_loss"))), List.of(boxed(MetricsLog.column(resumed.runDir(), "test_loss"))));
    }

    /** Two replicas with synchronized batch norm: the single-machine run, to float rounding. */
    @Test
    void twoReplicasWithSyncBatchNormAreTheTrainerOnOneMachine() throws IOException {
        TrainConfig lc = config("local2"), sc = config("spark2");
        lc.epochs = sc.epochs = 1;
        Trainer.Result local = fit(lc, 0, false);
        Trainer.Result spark = fit(sc, 2, true);
        SingleMachine.Difference d = SingleMachine.difference(spark.model(), local.model());
        System.out.printf(Locale.ROOT, "Trainer on 2 Spark replicas with SyncBN vs on one machine, 4 steps: %s%n", d);
        assertTrue(d.model() <= SparkTrainerTest.TOLERANCE, "weights: " + d);
        assertEquals(MetricsLog.column(local.runDir(), "train_loss")[0], MetricsLog.column(spark.runDir(), "train_loss")[0], 1e-5);
    }

    @Test
    void optionsTheReplicasDoNotComputeAreRefusedByName() {
        TrainConfig c = config("refused");
        c.mixup = 0.2;
        c.labelSmoothing = 0.1;
        var e = assertThrows(IllegalArgumentException.class, () -> SparkTraining.check(c));
        assertTrue(e.getMessage().contains("--mixup") && e.getMessage().contains("--label-smoothing"), e.getMessage());
    }

    @Test
    void aLocalMasterBindsToLoopbackAndAClusterMasterIsLeftAlone() {
        var local = SparkTraining.conf("local[2]", "loopback");
        assertEquals("127.0.0.1", local.get("spark.driver.host"));
        assertEquals("127.0.0.1", local.get("spark.driver.bindAddress"));
        var cluster = SparkTraining.conf("spark://10.0.0.5:7077", "cluster");
        assertTrue(!cluster.contains("spark.driver.host") || !cluster.get("spark.driver.host").equals("127.0.0.1"), cluster.toDebugString());
        assertTrue(!cluster.contains("spark.driver.bindAddress"), cluster.toDebugString());
    }

    private static Double[] boxed(double[] v) {
        Double[] out = new Double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i];
        return out;
    }
}
