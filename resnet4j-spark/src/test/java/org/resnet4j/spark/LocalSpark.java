package org.resnet4j.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * The tests' Spark context in local mode: loopback only, no web UI. One context serves every test
 * class of a run (Spark allows one active context per JVM, and each start costs seconds on a
 * small machine); Spark's own shutdown hook stops it when the test JVM exits, and a test that
 * needs another context (the standalone cluster) stops it first with {@link #stop}.
 */
final class LocalSpark {
    /** Task threads: four replicas run at once in a barrier stage. */
    static final int SLOTS = 4;
    /**
     * Attempts per task ({@code local[N,F]}: in local mode a task is tried once unless the master
     * URL says otherwise), so that a task failing once is retried as on a cluster, where
     * {@code spark.task.maxFailures} is 4 by default.
     */
    static final int TASK_ATTEMPTS = 2;
    private static JavaSparkContext shared;

    private LocalSpark() {}

    /**
     * {@code local[4,2]}. Spark binds its RPC endpoint to the driver host; naming 127.0.0.1 keeps
     * it off the machine's network, and the UI (a Jetty server on port 4040) is not needed
     * (https://spark.apache.org/docs/latest/configuration.html).
     */
    static synchronized JavaSparkContext shared() {
        if (shared == null || shared.sc().isStopped()) {
            shared = new JavaSparkContext(conf("local[" + SLOTS + "," + TASK_ATTEMPTS + "]", "resnet4j-spark tests"));
        }
        return shared;
    }

    /** Stops the shared context, if one runs. */
    static synchronized void stop() {
        if (shared != null) shared.close();
        shared = null;
    }

    /** The loopback-only settings for {@code master}. */
    static SparkConf conf(String master, String name) {
        return new SparkConf()
                .setMaster(master)
                .setAppName(name)
                .set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.ui.enabled", "false")
                .set("spark.ui.showConsoleProgress", "false")
                // a barrier stage without enough slots: fail after two checks a second apart, not Spark's ten minutes
                .set("spark.scheduler.barrier.maxConcurrentTasksCheck.interval", "1s")
                .set("spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures", "2")
                // few partitions in these tests: the default 200 shuffle partitions is only start-up cost
                .set("spark.default.parallelism", "2");
    }
}
