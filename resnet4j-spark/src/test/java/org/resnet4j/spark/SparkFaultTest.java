package org.resnet4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.TaskContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.resnet4j.data.Dataset;
import org.resnet4j.data.Example;
import org.resnet4j.data.SyntheticShapes;
import org.resnet4j.kernels.Parallel;
import org.resnet4j.nn.Module;

/**
 * Failures during training, injected by the dataset the replicas read (local mode: the tasks are
 * threads of this JVM and see its statics): a task that fails once is run again and the run ends
 * with the weights of an uninterrupted one; a replica that never sends its batch-norm sums, or
 * a barrier stage the cluster has no slots for, fails the step with a message that says so,
 * within a bounded time.
 */
@Timeout(value = 100)
class SparkFaultTest {
    static final int STEPS = 4, FAIL_STEP = 2, BATCH = SparkTrainerTest.BATCH;
    /** Samples loaded by replicas since the test began (BATCH per step, all replicas together). */
    static final AtomicInteger LOADS = new AtomicInteger();
    static final AtomicInteger INJECTED = new AtomicInteger();
    /** The load that throws, once (-1: none). */
    static volatile int failAt = -1;
    /** Replica 1 stops (until its task is killed) from this load on (-1: never). */
    static volatile int hangFrom = -1;
    static int threadsBefore;

    /** SyntheticShapes that fail or stall where the test says. */
    static final class FaultyShapes implements Dataset {
        private final SyntheticShapes shapes = new SyntheticShapes(SparkTrainerTest.SAMPLES, 7);

        @Override
        public int size() {
            return shapes.size();
        }

        @Override
        public List<String> classes() {
            return shapes.classes();
        }

        @Override
        public Example get(int index) throws IOException {
            int load = LOADS.incrementAndGet();
            if (load == failAt) {
                INJECTED.incrementAndGet();
                throw new IOException("injected failure at load " + load);
            }
            if (hangFrom >= 0 && load >= hangFrom && TaskContext.getPartitionId() == 1) {
                INJECTED.incrementAndGet();
                long until = System.nanoTime() + 30_000_000_000L; // bounded even if nobody kills the task
                while (!TaskContext.get().isInterrupted() && System.nanoTime() < until) {
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        break;
                    }
                }
                throw new IOException("replica 1 stalled and was stopped");
            }
            return shapes.get(index);
        }
    }

    static final TrainingData FAULTY = new TrainingData(FaultyShapes::new, SparkTrainerTest.DATA.transform(), SparkTrainerTest.SEED);

    @BeforeAll
    static void oneThread() {
        threadsBefore = Parallel.threads();
        Parallel.setThreads(1);
    }

    @AfterAll
    static void restoreThreads() {
        Parallel.setThreads(threadsBefore);
    }

    @AfterEach
    void reset() {
        failAt = -1;
        hangFrom = -1;
    }

    private static Module train(TrainingData data, int replicas, boolean syncBn) {
        try (SparkTrainer t = new SparkTrainer(LocalSpark.shared(), SparkTrainerTest.RESNET20, data, BATCH, replicas,
                SparkTrainerTest.SGD_MOMENTUM, syncBn)) {
            for (int i = 0; i < STEPS; i++) t.step();
            return t.model();
        }
    }

    private static void failOnceInStep(int step) {
        LOADS.set(0);
        INJECTED.set(0);
        failAt = step * BATCH + BATCH / 2 + 3; // in replica 1's shard, loads running in parallel aside
    }

    /** Per-step job: Spark runs the failed task again (local[4,2]: two attempts a task), same gradient. */
    @Test
    void aTaskThatFailsOnceIsRetriedBySparkWithTheSameResult() {
        Module clean = train(SparkTrainerTest.DATA, 2, false);
        failOnceInStep(FAIL_STEP);
        Module retried = train(FAULTY, 2, false);
        assertEquals(1, INJECTED.get(), "one load failed");
        SingleMachine.Difference d = SingleMachine.difference(retried, clean);
        System.out.printf(Locale.ROOT, "per-step job, a task failed once in step %d: vs uninterrupted %s%n", FAIL_STEP, d);
        assertEquals(0.0, d.tensor(), "weights after the retry: " + d);
    }

    /** Barrier stage: Spark does not re-run it, the trainer runs the step's job again, same gradient. */
    @Test
    void aSyncedStepWhoseTaskFailsOnceIsRunAgainWithTheSameResult() {
        Module clean = train(SparkTrainerTest.DATA, 2, true);
        failOnceInStep(FAIL_STEP);
        Module retried = train(FAULTY, 2, true);
        assertEquals(1, INJECTED.get(), "one load failed");
        SingleMachine.Difference d = SingleMachine.difference(retried, clean);
        System.out.printf(Locale.ROOT, "SyncBN barrier stage, a task failed once in step %d: vs uninterrupted %s%n", FAIL_STEP, d);
        assertEquals(0.0, d.tensor(), "weights after the step ran again: " + d);
    }

    /** A replica that stops sending its sums fails the step after the all-reduce timeout, naming it. */
    @Test
    void aReplicaThatNeverSendsItsSumsFailsTheStepWithinTheTimeout() {
        LOADS.set(0);
        hangFrom = BATCH + 1; // step 1
        long t0 = System.nanoTime();
        try (SparkTrainer t = new SparkTrainer(LocalSpark.shared(), SparkTrainerTest.RESNET20, FAULTY, BATCH, 2,
                SparkTrainerTest.SGD_MOMENTUM, true).allReduceTimeout(Duration.ofSeconds(3))) {
            t.step();
            var e = assertThrows(IllegalStateException.class, t::step);
            double seconds = (System.nanoTime() - t0) / 1e9;
            System.out.printf(Locale.ROOT, "a replica stalled in step 1: failed after %.1f s: %s%n", seconds, e.getMessage());
            assertTrue(e.getMessage().contains("step 1 failed 2 times") && e.getMessage().contains("replica 1 sent no batch-norm sums for 3.0 s"),
                    e.getMessage());
            assertTrue(seconds < 40, seconds + " s");
        }
    }

    /** More replicas than task slots: Spark refuses the barrier stage (after its slot checks), not a wait forever. */
    @Test
    void aBarrierStageWithMoreReplicasThanSlotsFails() {
        long t0 = System.nanoTime();
        try (SparkTrainer t = new SparkTrainer(LocalSpark.shared(), SparkTrainerTest.NO_BATCH_NORM, SparkTrainerTest.DATA, 10,
                LocalSpark.SLOTS + 1, SparkTrainerTest.SGD_MOMENTUM, true).stepAttempts(1)) {
            var e = assertThrows(IllegalStateException.class, t::step);
            double seconds = (System.nanoTime() - t0) / 1e9;
            System.out.printf(Locale.ROOT, "%d replicas on %d slots: failed after %.1f s: %s%n", LocalSpark.SLOTS + 1, LocalSpark.SLOTS, seconds,
                    e.getMessage());
            assertTrue(e.getMessage().contains("step 0 failed") && e.getMessage().contains("slots"), e.getMessage());
            assertTrue(seconds < 30, seconds + " s");
        }
    }
}
