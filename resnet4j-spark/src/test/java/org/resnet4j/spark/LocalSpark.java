package org.resnet4j.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/** A Spark context in local mode for the tests: loopback only, no web UI, a few seconds to start. */
final class LocalSpark {
    private LocalSpark() {}

    /**
     * {@code local[cores]}: the driver and {@code cores} task threads in this JVM. Spark binds its
     * RPC endpoint to the driver host; naming 127.0.0.1 keeps it off the machine's network, and the
     * UI (a Jetty server on port 4040) is not needed (https://spark.apache.org/docs/latest/configuration.html).
     */
    static JavaSparkContext start(int cores, String name) {
        SparkConf conf = new SparkConf()
                .setMaster("local[" + cores + "]")
                .setAppName(name)
                .set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.ui.enabled", "false")
                .set("spark.ui.showConsoleProgress", "false")
                // few partitions in these tests: the default 200 shuffle partitions is only start-up cost
                .set("spark.default.parallelism", String.valueOf(cores));
        return new JavaSparkContext(conf);
    }
}
