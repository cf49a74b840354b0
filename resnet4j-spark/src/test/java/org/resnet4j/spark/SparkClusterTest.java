package org.resnet4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.kernels.Parallel;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.Module;

/**
 * A real Spark standalone cluster on loopback: a master and two workers started as child JVMs
 * from this module's class path (org.apache.spark.deploy.master.Master and
 * org.apache.spark.deploy.worker.Worker, as Spark's sbin/start-master.sh and start-worker.sh start
 * them), each worker launching its own executor JVM; this JVM is the driver, submitting to
 * spark://127.0.0.1:PORT. Short trainings there equal the single-process references; then
 * everything is stopped (https://spark.apache.org/docs/latest/spark-standalone.html).
 */
@Timeout(value = 150)
class SparkClusterTest {
    static final int STEPS = 3;
    @TempDir
    Path dir;

    /** ResNet-20 as the other tests build it, on one compute thread in every executor (so kernels split work as in the reference). */
    static final SerializableSupplier<Module> RESNET20_ONE_THREAD = () -> {
        Parallel.setThreads(1);
        Init.manualSeed(SparkTrainerTest.SEED);
        return Models.create("resnet20", ModelConfig.defaults(org.resnet4j.data.SyntheticShapes.CLASSES.size()));
    };

    @Test
    void trainingOnAStandaloneClusterEqualsOneMachine() throws Exception {
        LocalSpark.stop(); // one context per JVM: this test's connects to the cluster
        int threadsBefore = Parallel.threads();
        Parallel.setThreads(1);
        List<Process> started = new ArrayList<>();
        try {
            Path sparkHome = Files.createDirectories(dir.resolve("spark-home/jars")).getParent(); // no jars: all on the class path
            int port = freePort();
            String master = "spark://127.0.0.1:" + port;
            started.add(start(sparkHome, "master", "org.apache.spark.deploy.master.Master",
                    "--host", "127.0.0.1", "--port", String.valueOf(port), "--webui-port", "0"));
            awaitPort(port, started.get(0));
            for (int w = 1; w <= 2; w++) {
                Path work = Files.createDirectories(dir.resolve("work-" + w));
                started.add(start(sparkHome, "worker-" + w, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                        "--webui-port", "0", "--cores", "1", "--memory", "1g", "--work-dir", work.toString(), master));
            }
            long t0 = System.nanoTime();
            try (JavaSparkContext sc = new JavaSparkContext(LocalSpark.conf(master, "SparkClusterTest")
                    .set("spark.executor.memory", "768m")
                    .set("spark.executor.cores", "1")
                    .set("spark.cores.max", "2")
                    // the executors run this module's classes (the test's lambdas too) from the same class path
                    .set("spark.executor.extraClassPath", classPath())
                    .set("spark.executor.extraJavaOptions", "--add-modules jdk.incubator.vector")
                    // a barrier stage waits until both executors have registered
                    .set("spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures", "30"))) {
                awaitExecutors(sc, 2, started);
                double startSeconds = (System.nanoTime() - t0) / 1e9;
                Module perReplica = train(sc, false), synced = train(sc, true);
                List<String> executors = sc.sc().getExecutorIds().isEmpty() ? List.of() : List.of(sc.sc().getExecutorIds().mkString(","));
                SingleMachine.Difference d1 = SingleMachine.difference(perReplica,
                        SingleMachine.perShard(SparkTrainerTest.RESNET20, SparkTrainerTest.DATA, SparkTrainerTest.BATCH, 2, STEPS,
                                SparkTrainerTest.SGD_MOMENTUM).model());
                SingleMachine.Difference d2 = SingleMachine.difference(synced,
                        SingleMachine.plain(SparkTrainerTest.RESNET20, SparkTrainerTest.DATA, SparkTrainerTest.BATCH, STEPS,
                                SparkTrainerTest.SGD_MOMENTUM).model());
                System.out.printf(Locale.ROOT, "standalone cluster %s (executors %s, up in %.1f s), %d steps each: per-replica BN vs per-shard %s; "
                        + "SyncBN vs one machine %s; %.1f s in all%n", master, executors, startSeconds, STEPS, d1, d2, (System.nanoTime() - t0) / 1e9);
                assertEquals(2, sc.sc().getExecutorIds().size(), "two executors, one per worker");
                assertTrue(d1.tensor() <= SparkTrainerTest.TOLERANCE, "per-replica BN on the cluster vs per-shard reference: " + d1);
                assertTrue(d2.model() <= SparkTrainerTest.TOLERANCE, "SyncBN on the cluster vs one machine: " + d2);
            }
        } finally {
            stopAll(started);
            Parallel.setThreads(threadsBefore);
        }
    }

    private static Module train(JavaSparkContext sc, boolean syncBn) {
        try (SparkTrainer t = new SparkTrainer(sc, RESNET20_ONE_THREAD, SparkTrainerTest.DATA, SparkTrainerTest.BATCH, 2,
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

    /** A Spark daemon JVM: the flags Spark's launcher passes, loopback only, its output in a log file. */
    private Process start(Path sparkHome, String name, String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m"));
        cmd.addAll(List.of(jvmOptions().split("\\s+")));
        cmd.addAll(List.of("-cp", classPath(), mainClass));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile());
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        // where the worker looks for Spark's jars when it builds an executor's command (none: the class path has them)
        pb.environment().put("SPARK_HOME", sparkHome.toString());
        pb.environment().put("SPARK_SCALA_VERSION", "2.13");
        return pb.start();
    }

    /** resnet4j-spark's jvm-options.txt: what Spark's launcher adds to every JVM it starts. */
    static String jvmOptions() throws IOException {
        try (InputStream in = SparkTrainer.class.getResourceAsStream("jvm-options.txt")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private void awaitPort(int port, Process master) throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (!master.isAlive()) throw new IllegalStateException("the master exited: " + log("master"));
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                return;
            } catch (IOException notYet) {
                Thread.sleep(200);
            }
        }
        throw new IllegalStateException("the master did not listen on " + port + " within 60 s: " + log("master"));
    }

    private void awaitExecutors(JavaSparkContext sc, int n, List<Process> daemons) throws Exception {
        long deadline = System.nanoTime() + 90_000_000_000L;
        while (sc.sc().getExecutorIds().size() < n) {
            for (Process p : daemons) if (!p.isAlive()) throw new IllegalStateException("a Spark daemon exited: " + logs());
            if (System.nanoTime() > deadline) throw new IllegalStateException(n + " executors did not register within 90 s: " + logs());
            Thread.sleep(200);
        }
    }

    /** Stops the workers, their executors and the master: SIGTERM, then SIGKILL after 10 s. */
    private static void stopAll(List<Process> started) throws InterruptedException {
        for (int i = started.size() - 1; i >= 0; i--) {
            Process p = started.get(i);
            List<ProcessHandle> children = p.descendants().toList();
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            for (ProcessHandle c : children) if (c.isAlive()) c.destroyForcibly();
        }
    }

    private String log(String name) {
        try {
            String s = Files.readString(dir.resolve(name + ".log"));
            return "\n--- " + name + " ---\n" + s.substring(Math.max(0, s.length() - 3000));
        } catch (IOException e) {
            return "(no log of " + name + ")";
        }
    }

    private String logs() {
        return log("master") + log("worker-1") + log("worker-2");
    }
}
