package org.resnet4j.cli;

import java.io.IOException;
import org.apache.spark.api.java.JavaSparkContext;
import org.resnet4j.report.CurvePlots;
import org.resnet4j.spark.SparkTraining;
import org.resnet4j.train.TrainConfig;
import org.resnet4j.train.Trainer;

/**
 * {@code train --spark}: the command line's trainer (progress bar, curves, run folder and
 * checkpoints on the driver) with each step's gradient computed by Spark replicas. Spark is
 * {@code provided} by the launcher or {@code spark-submit}, never inside the resnet4j jar, so this
 * class is the only one that touches Spark's types and is loaded only once its presence is checked.
 */
final class SparkTrain {
    private SparkTrain() {}

    static Trainer.Result fit(TrainConfig c, String master, Integer replicas, boolean syncBn) throws IOException {
        try {
            Class.forName("org.apache.spark.SparkConf", false, SparkTrain.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalStateException("--spark: Spark is not on the class path. Run through ./resnet4j, which adds Spark's jars "
                    + "for --spark, or submit the resnet4j jar with spark-submit (docs/SPARK.md)");
        }
        return Driver.fit(c, master, replicas, syncBn);
    }

    /** Kept apart so that verifying {@link SparkTrain} never needs Spark's classes. */
    private static final class Driver {
        static Trainer.Result fit(TrainConfig c, String master, Integer replicas, boolean syncBn) throws IOException {
            SparkTraining.check(c); // before Spark starts: a refused option costs nothing
            try (JavaSparkContext sc = new JavaSparkContext(SparkTraining.conf("-".equals(master) ? null : master, "resnet4j train " + c.runName()))) {
                sc.setLogLevel("WARN"); // Spark's INFO lines (a few per job, one job a step) would bury the progress bar
                int n = replicas != null ? replicas : sc.defaultParallelism();
                System.out.printf("spark: %s, %d replicas, global batch %d (%s per replica), batch norm %s%n", sc.master(), n, c.batchSize,
                        c.batchSize % n == 0 ? String.valueOf(c.batchSize / n) : "not divisible", syncBn ? "synchronized" : "per replica");
                return SparkTraining.fit(sc, c, n, syncBn, CurvePlots.reportingTrainer(c, System.out));
            }
        }
    }
}
