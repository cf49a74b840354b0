package org.resnet4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;
import java.util.function.Function;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.resnet4j.data.Compose;
import org.resnet4j.data.RandomCrop;
import org.resnet4j.data.RandomHorizontalFlip;
import org.resnet4j.data.SyntheticShapes;
import org.resnet4j.kernels.Parallel;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.AdaptiveAvgPool2d;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Flatten;
import org.resnet4j.nn.GroupNorm;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.Linear;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.ReLU;
import org.resnet4j.nn.Sequential;
import org.resnet4j.train.Optimizer;
import org.resnet4j.train.ParamGroups;
import org.resnet4j.train.SGD;

/**
 * Data-parallel training on local[2] against single-process references ({@link SingleMachine}):
 * CIFAR ResNet-20 on SyntheticShapes, global batch 16 on 2 replicas, 20 steps (96 samples: 6
 * steps an epoch, so three new epoch orders are drawn), random crops and flips.
 */
@Timeout(value = 60) // seconds, each test
class SparkTrainerTest {
    static final double TOLERANCE = 1e-5;
    static final int BATCH = 16, STEPS = 20, SAMPLES = 96;
    static final long SEED = 42;
    static JavaSparkContext sc;
    static int threadsBefore;

    /** Pad-and-crop and flip, the CIFAR recipe: each sample's draw comes from DataLoader's generator of (seed, epoch, index). */
    static final TrainingData DATA = new TrainingData(() -> new SyntheticShapes(SAMPLES, 7),
            () -> new Compose(new RandomCrop(32, 4), new RandomHorizontalFlip()), SEED);
    static final Function<Module, Optimizer> SGD_MOMENTUM = m -> new SGD(ParamGroups.of(m, true), 0.01, 0.9, 5e-4);
    static final SerializableSupplier<Module> RESNET20 = () -> {
        Init.manualSeed(SEED); // the driver and the references start from the same weights
        return Models.create("resnet20", ModelConfig.defaults(SyntheticShapes.CLASSES.size()));
    };
    /** No batch norm: GroupNorm normalises each sample on its own, so how the batch is cut does not matter. */
    static final SerializableSupplier<Module> NO_BATCH_NORM = () -> {
        Init.manualSeed(SEED);
        return new Sequential(new Conv2d(3, 16, 3, 1, 1), new ReLU(), new Conv2d(16, 32, 3, 2, 1), new GroupNorm(4, 32), new ReLU(),
                new AdaptiveAvgPool2d(1, 1), new Flatten(), new Linear(32, SyntheticShapes.CLASSES.size()));
    };

    @BeforeAll
    static void start() {
        // one compute thread: both replicas then run their kernels serially, side by side on the
        // two task threads, and every kernel splits its work as in the single-process reference
        threadsBefore = Parallel.threads();
        Parallel.setThreads(1);
        sc = LocalSpark.shared();
    }

    @AfterAll
    static void stop() {
        Parallel.setThreads(threadsBefore);
    }

    private static SingleMachine.Run spark(SerializableSupplier<Module> model, int replicas, int steps, double[] losses) {
        return spark(model, replicas, steps, losses, false);
    }

    private static SingleMachine.Run spark(SerializableSupplier<Module> model, int replicas, int steps, double[] losses, boolean syncBn) {
        try (SparkTrainer t = new SparkTrainer(sc, model, DATA, BATCH, replicas, SGD_MOMENTUM, syncBn)) {
            for (int i = 0; i < steps; i++) {
                SparkTrainer.StepResult r = t.step();
                assertEquals(i, r.step());
                losses[i] = r.loss();
            }
            assertEquals(steps, t.steps());
            return new SingleMachine.Run(t.model(), losses);
        }
    }

    /** References by (shards, steps): 1 shard is plain training. Computed once, several tests compare with them. */
    private static final java.util.Map<String, SingleMachine.Run> REFERENCES = new java.util.concurrent.ConcurrentHashMap<>();

    /** shards -1: plain training on 2 compute threads, whose kernels split their sums otherwise. */
    static SingleMachine.Run reference(int shards, int steps) {
        return REFERENCES.computeIfAbsent(shards + "/" + steps, k -> {
            if (shards > 1) return SingleMachine.perShard(RESNET20, DATA, BATCH, shards, steps, SGD_MOMENTUM);
            if (shards == 1) return SingleMachine.plain(RESNET20, DATA, BATCH, steps, SGD_MOMENTUM);
            Parallel.setThreads(2);
            try {
                return SingleMachine.plain(RESNET20, DATA, BATCH, steps, SGD_MOMENTUM);
            } finally {
                Parallel.setThreads(1);
            }
        });
    }

    private static void sameLosses(double[] expected, double[] actual) {
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], TOLERANCE * Math.abs(expected[i]), "mean loss of step " + i);
        }
    }

    /**
     * Two replicas with per-replica batch norm equal a single process that normalises each shard
     * on its own; they are not plain full-batch training, whose batch statistics span the whole
     * batch (the check that this comparison can fail).
     */
    @Test
    void twoReplicasEqualPerShardTrainingOnOneMachine() {
        long t0 = System.nanoTime();
        SingleMachine.Run spark = spark(RESNET20, 2, STEPS, new double[STEPS]);
        double sparkSeconds = (System.nanoTime() - t0) / 1e9;
        SingleMachine.Run perShard = reference(2, STEPS);
        SingleMachine.Run plain = reference(1, STEPS);
        SingleMachine.Difference same = SingleMachine.difference(spark.model(), perShard.model());
        SingleMachine.Difference other = SingleMachine.difference(spark.model(), plain.model());
        System.out.printf(Locale.ROOT, "resnet20, 2 replicas, %d steps in %.1f s: vs per-shard reference %s, vs full-batch %s%n",
                STEPS, sparkSeconds, same, other);
        // the same per-shard kernels and one correctly rounded addition of the two gradients: the same bits
        assertEquals(0.0, same.tensor(), "Spark vs per-shard single process: " + same);
        sameLosses(perShard.losses(), spark.losses());
        assertTrue(other.model() > TOLERANCE, "per-replica batch statistics must differ from full-batch ones: " + other);
    }

    /**
     * With synchronized batch norm, 2 and 4 replicas are plain single-machine training: batch norm
     * sees the global batch's statistics, and its backward the global batch's sums. After the
     * first step the model is one machine's up to float rounding ({@link #ROUNDING} over the model;
     * measured 3.3e-10 to 3.4e-9 at 256 and 512 bits) with the same loss, and per-replica batch
     * norm is far from it (the check that this can fail). Later, training amplifies rounding
     * differences 5-20-fold a step (4 replicas at 256 bits: 3.4e-9, 1.9e-8, 4.6e-7, 8.4e-6, 4.7e-5
     * over steps 1-5), so the 20-step model is held to how far one machine's own training goes
     * from a start one float ulp away (every nonzero initial weight moved by one ulp): within twice
     * that. (A fixed 1e-5 after 5 steps held at 512 bits and failed at 256, whose kernels round
     * elsewhere; so did a floor of one machine on 2 threads against 1, which is 0 at 256 bits,
     * where every kernel sums in the same order on any thread count.)
     */
    @ParameterizedTest(name = "{0} replicas")
    @ValueSource(ints = {2, 4})
    void replicasWithSyncBatchNormEqualPlainTraining(int replicas) {
        long t0 = System.nanoTime();
        double[] losses = new double[STEPS];
        SingleMachine.Difference first = null, firstUnsynced = null;
        Module model;
        try (SparkTrainer t = new SparkTrainer(sc, RESNET20, DATA, BATCH, replicas, SGD_MOMENTUM, true)) {
            for (int i = 0; i < STEPS; i++) {
                losses[i] = t.step().loss();
                if (i == 0) {
                    first = SingleMachine.difference(t.model(), reference(1, 1).model());
                    firstUnsynced = SingleMachine.difference(t.model(), reference(replicas, 1).model());
                }
            }
            model = t.model();
        }
        double sparkSeconds = (System.nanoTime() - t0) / 1e9;
        SingleMachine.Run plain = reference(1, STEPS);
        SingleMachine.Difference d = SingleMachine.difference(model, plain.model());
        SingleMachine.Difference floor = SingleMachine.difference(oneUlpAway(STEPS).model(), plain.model());
        System.out.printf(Locale.ROOT, "resnet20, %d replicas, SyncBN, %d steps in %.1f s: vs full-batch after 1 step %s, after %d %s "
                + "(one machine from a start one ulp away: %s); vs per-replica batch norm after 1 step %s%n", replicas, STEPS, sparkSeconds,
                first, STEPS, d, floor, firstUnsynced);
        assertTrue(first.model() <= ROUNDING, replicas + " replicas with SyncBN vs plain training, 1 step: " + first);
        sameLosses(java.util.Arrays.copyOf(plain.losses(), 1), java.util.Arrays.copyOf(losses, 1));
        assertTrue(d.model() <= 2 * floor.model(), replicas + " replicas with SyncBN vs plain training, " + STEPS + " steps: " + d
                + "; one machine from a start one ulp away: " + floor);
        // per-replica batch norm is far from what synchronized batch norm gives
        assertTrue(firstUnsynced.model() > 100 * ROUNDING, "synchronized batch norm must differ from per-replica batch norm after "
                + "1 step: " + firstUnsynced + " against " + first);
    }

    /** Float rounding over the model: a few units of 2^-24 (6e-8) relative. */
    static final double ROUNDING = 1e-7;

    /** Plain training from RESNET20's start with every nonzero parameter one float ulp up: as far as rounding could put a start. */
    private static SingleMachine.Run oneUlpAway(int steps) {
        return REFERENCES.computeIfAbsent("ulp/" + steps, k -> SingleMachine.plain(() -> {
            Module m = RESNET20.get();
            for (org.resnet4j.nn.Parameter p : m.parameters()) {
                float[] a = p.value().data();
                for (int i = 0; i < a.length; i++) if (a[i] != 0) a[i] = Math.nextUp(a[i]);
            }
            return m;
        }, DATA, BATCH, steps, SGD_MOMENTUM));
    }

    /** Four replicas with per-replica batch norm equal a single process that normalises each quarter of the batch on its own. */
    @Test
    void fourReplicasEqualPerShardTrainingOnOneMachine() {
        SingleMachine.Run spark = spark(RESNET20, 4, STEPS, new double[STEPS]);
        SingleMachine.Difference d = SingleMachine.difference(spark.model(), reference(4, STEPS).model());
        System.out.printf(Locale.ROOT, "resnet20, 4 replicas, %d steps: vs per-shard reference %s%n", STEPS, d);
        // the gradients are added in double and rounded once (GradientSum): the same bits whatever order Spark merges them in
        assertEquals(0.0, d.tensor(), "4 replicas vs per-shard single process: " + d);
        sameLosses(reference(4, STEPS).losses(), spark.losses());
    }

    /** One replica is plain single-machine training. */
    @Test
    void oneReplicaEqualsPlainTraining() {
        int steps = 8;
        SingleMachine.Run spark = spark(RESNET20, 1, steps, new double[steps]);
        SingleMachine.Run plain = SingleMachine.plain(RESNET20, DATA, BATCH, steps, SGD_MOMENTUM);
        SingleMachine.Difference d = SingleMachine.difference(spark.model(), plain.model());
        System.out.printf(Locale.ROOT, "resnet20, 1 replica, %d steps: vs full-batch %s%n", steps, d);
        assertTrue(d.tensor() <= TOLERANCE, "1 replica vs plain training: " + d);
        sameLosses(plain.losses(), spark.losses());
    }

    /** Without batch statistics, two replicas are plain single-machine training. */
    @Test
    void twoReplicasWithoutBatchNormEqualPlainTraining() {
        SingleMachine.Run spark = spark(NO_BATCH_NORM, 2, STEPS, new double[STEPS]);
        SingleMachine.Run plain = SingleMachine.plain(NO_BATCH_NORM, DATA, BATCH, STEPS, SGD_MOMENTUM);
        SingleMachine.Difference d = SingleMachine.difference(spark.model(), plain.model());
        System.out.printf(Locale.ROOT, "conv-GroupNorm net, 2 replicas, %d steps: vs full-batch %s%n", STEPS, d);
        // Over the model, not per tensor: a bias's gradient is a sum of thousands of terms that
        // nearly cancel, and adding two shards' float sums rounds differently from one sum over
        // the batch; on GroupNorm biases still within 1e-3 of their zero start that rounding is
        // 1e-4 of the tensor's largest entry after 20 steps, while the model as a whole moves by 1e-6.
        assertTrue(d.model() <= TOLERANCE, "2 replicas without batch norm vs plain training: " + d);
        sameLosses(plain.losses(), spark.losses());
    }

    @Test
    void aGlobalBatchThatReplicasCannotShareEquallyIsRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> new SparkTrainer(sc, NO_BATCH_NORM, DATA, 10, 4, SGD_MOMENTUM));
        assertTrue(e.getMessage().contains("global batch 10") && e.getMessage().contains("4 replicas"), e.getMessage());
    }

}
