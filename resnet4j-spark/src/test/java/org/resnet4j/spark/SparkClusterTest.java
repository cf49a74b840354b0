package org.resnet4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.deploy.master.Master;
import org.apache.spark.deploy.worker.Worker;
import org.apache.spark.rpc.RpcEnv;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.kernels.Parallel;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.Module;
import scala.Option;
import scala.Tuple3;

/**
 * A real Spark standalone cluster on loopback: a master and two workers, started in this JVM as
 * Spark's sbin/start-master.sh and start-worker.sh start them in their own
 * (org.apache.spark.deploy.master.Master and org.apache.spark.deploy.worker.Worker, each with
 * its RPC environment on 127.0.0.1), every worker launching its executor as a child JVM from this
 * module's class path; this JVM's driver submits to spark://127.0.0.1:PORT. Short trainings there
 * equal the single-process references; then the application, the workers (which kill their
 * executors) and the master are stopped (https://spark.apache.org/docs/latest/spark-standalone.html).
 * The daemons run in this JVM to spare two JVM starts; the executors, where the work is, are
 * separate JVMs as on any cluster.
 */
@Timeout(value = 150)
class SparkClusterTest {
    static final int STEPS = 2;

    /**
     * ResNet-8 (the smallest CIFAR ResNet: fresh executor JVMs run their first steps mostly
     * interpreted), seeded, on one compute thread in every executor so that the kernels split
     * their work as in the reference.
     */
    static final SerializableSupplier<Module> RESNET8_ONE_THREAD = () -> {
        Parallel.setThreads(1);
        return resnet8();
    };

    static Module resnet8() {
        Init.manualSeed(SparkTrainerTest.SEED);
        return Models.create("resnet8", ModelConfig.defaults(org.resnet4j.data.SyntheticShapes.CLASSES.size()));
    }

    @Test
    void trainingOnAStandaloneClusterEqualsOneMachine(@TempDir Path dir) throws Exception {
        LocalSpark.stop(); // one context per JVM: this test's connects to the cluster
        int threadsBefore = Parallel.threads();
        Parallel.setThreads(1);
        // the workers build each executor's command from SPARK_HOME (surefire's environment): it needs a jars folder,
        // left empty, as the executors get this class path
        Files.createDirectories(Path.of(System.getenv("SPARK_HOME"), "jars"));
        List<RpcEnv> daemons = new ArrayList<>();
        long t0 = System.nanoTime();
        try {
            SparkConf daemonConf = new SparkConf().set("spark.master.rest.enabled", "false");
            Tuple3<RpcEnv, Object, Option<Object>> m = Master.startRpcEnvAndEndpoint("127.0.0.1", 0, 0, daemonConf);
            daemons.add(m._1());
            String master = "spark://127.0.0.1:" + m._1().address().port(); // the tuple also holds the web UI and REST ports
            for (int w = 1; w <= 2; w++) {
                Path work = Files.createDirectories(dir.resolve("work-" + w));
                daemons.add(Worker.startRpcEnvAndEndpoint("127.0.0.1", 0, 0, 1, 1024, new String[] {master}, work.toString(),
                        Option.apply((Object) w), new SparkConf(), Option.empty()));
            }
            try (JavaSparkContext sc = new JavaSparkContext(LocalSpark.conf(master, "SparkClusterTest")
                    .set("spark.executor.memory", "768m")
                    .set("spark.executor.cores", "1")
                    .set("spark.cores.max", "2")
                    // the executors run this module's classes (the test's lambdas too) from the same class path
                    .set("spark.executor.extraClassPath", classPath())
                    .set("spark.executor.extraJavaOptions", "--add-modules jdk.incubator.vector"))) {
                awaitExecutors(sc, 2, dir);
                double startSeconds = (System.nanoTime() - t0) / 1e9;
                Module perReplica = train(sc, false), synced = train(sc, true);
                SingleMachine.Difference d1 = SingleMachine.difference(perReplica,
                        SingleMachine.perShard(SparkClusterTest::resnet8, SparkTrainerTest.DATA, SparkTrainerTest.BATCH, 2, STEPS,
                                SparkTrainerTest.SGD_MOMENTUM).model());
                SingleMachine.Difference d2 = SingleMachine.difference(synced,
                        SingleMachine.plain(SparkClusterTest::resnet8, SparkTrainerTest.DATA, SparkTrainerTest.BATCH, STEPS,
                                SparkTrainerTest.SGD_MOMENTUM).model());
                System.out.printf(Locale.ROOT, "standalone cluster %s (executors %s, up in %.1f s), %d steps each: per-replica BN vs per-shard %s; "
                        + "SyncBN vs one machine %s; %.1f s in all%n", master, sc.sc().getExecutorIds().mkString(","), startSeconds, STEPS, d1, d2,
                        (System.nanoTime() - t0) / 1e9);
                assertEquals(2, sc.sc().getExecutorIds().size(), "two executors, one per worker");
                assertTrue(d1.tensor() <= SparkTrainerTest.TOLERANCE, "per-replica BN on the cluster vs per-shard reference: " + d1);
                assertTrue(d2.model() <= SparkTrainerTest.TOLERANCE, "SyncBN on the cluster vs one machine: " + d2);
            }
        } finally {
            stopAll(daemons);
            Parallel.setThreads(threadsBefore);
        }
    }

    private static Module train(JavaSparkContext sc, boolean syncBn) {
        try (SparkTrainer t = new SparkTrainer(sc, RESNET8_ONE_THREAD, SparkTrainerTest.DATA, SparkTrainerTest.BATCH, 2,
                SparkTrainerTest.SGD_MOMENTUM, syncBn)) {
            for (int i = 0; i < STEPS; i++) t.step();
            return t.model();
        }
    }

    /** This JVM's class path: the module's classes and tests, resnet4j-core and Spark's jars. */
    private static String classPath() {
        // surefire runs tests from a manifest-only jar; it names the real class path in this property
        return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    }

    private static void awaitExecutors(JavaSparkContext sc, int n, Path dir) throws Exception {
        long deadline = System.nanoTime() + 90_000_000_000L;
        while (sc.sc().getExecutorIds().size() < n) {
            if (System.nanoTime() > deadline) throw new IllegalStateException(n + " executors did not register within 90 s; their logs: " + logs(dir));
            Thread.sleep(100);
        }
    }

    /**
     * Stops the workers, then the master; a worker kills its executors as it stops. An executor
     * JVM still alive 10 s later (a child of this JVM) is killed.
     */
    private static void stopAll(List<RpcEnv> daemons) throws InterruptedException {
        for (int i = daemons.size() - 1; i >= 0; i--) {
            daemons.get(i).shutdown();
            daemons.get(i).awaitTermination();
        }
        long deadline = System.nanoTime() + 10_000_000_000L;
        List<ProcessHandle> executors = ProcessHandle.current().children()
                .filter(p -> p.info().arguments().map(a -> String.join(" ", a).contains("CoarseGrainedExecutorBackend")).orElse(false)).toList();
        for (ProcessHandle p : executors) {
            while (p.isAlive() && System.nanoTime() < deadline) Thread.sleep(100);
            if (p.isAlive()) p.destroyForcibly();
        }
    }

    /** The tail of each executor's stderr under the workers' folders. */
    private static String logs(Path dir) throws IOException {
        StringBuilder sb = new StringBuilder();
        try (var files = Files.walk(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().equals("stderr")).toList()) {
                String s = Files.readString(f);
                sb.append("\n--- ").append(f).append(" ---\n").append(s, Math.max(0, s.length() - 3000), s.length());
            }
        }
        return sb.toString();
    }
}
