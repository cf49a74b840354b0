package org.resnet4j.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.resnet4j.data.Dataset;
import org.resnet4j.data.Transform;
import org.resnet4j.io.json.Json;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Module;
import org.resnet4j.train.DataSources;
import org.resnet4j.train.TrainConfig;
import org.resnet4j.train.Trainer;

/**
 * A training config run on Spark: the core's {@link Trainer} (run folder, schedule, clipping,
 * EMA, evaluation, metrics, curves, checkpoints and resume, all on the driver) with a
 * {@link SparkTrainer} computing each step's gradient on the replicas. This is what
 * {@code resnet4j train --spark MASTER} runs.
 *
 * <p>The executors rebuild the run's training split and transform from the config (sent as its
 * JSON), so they must see the same data: a synthetic set, or files at the same path on every
 * machine.
 */
public final class SparkTraining {
    private SparkTraining() {}

    /**
     * The Spark configuration {@code train --spark} starts with: the master, an application name,
     * and a bounded wait for barrier slots. When a barrier stage needs more task slots than the
     * cluster has, Spark checks again every {@code spark.scheduler.barrier.maxConcurrentTasksCheck.interval}
     * (15 s) up to {@code maxFailures} (40) times, ten minutes in all, before failing the job;
     * here 4 checks of 5 s. A local master binds to loopback. Settings given by {@code spark-submit}
     * (system properties) are kept.
     *
     * @param master a Spark master URL (local[N], spark://host:port, yarn, ...), or null to take
     *        the one {@code spark-submit} set
     */
    public static SparkConf conf(String master, String appName) {
        SparkConf conf = new SparkConf().setAppName(appName)
                .setIfMissing("spark.scheduler.barrier.maxConcurrentTasksCheck.interval", "5s")
                .setIfMissing("spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures", "4");
        if (master != null) conf.setMaster(master);
        if (!conf.contains("spark.master")) {
            throw new IllegalArgumentException("no Spark master: give one (--spark local[2], --spark spark://HOST:7077) or run under spark-submit");
        }
        if (conf.get("spark.master").startsWith("local")) {
            // everything runs in this process: Spark's endpoints (RPC, block manager, and the
            // SyncBN hub, which listens on spark.driver.host) need not be reachable from the
            // network, and by default Spark would bind them to the host's external address
            conf.setIfMissing("spark.driver.host", "127.0.0.1").setIfMissing("spark.driver.bindAddress", "127.0.0.1");
        }
        return conf;
    }

    /**
     * Checks that {@code c} asks only for what the replicas compute as one machine would: a
     * classifier without batch transforms, label smoothing, dropout or frozen layers.
     *
     * @throws IllegalArgumentException naming every option that is not supported
     */
    public static void check(TrainConfig c) {
        List<String> bad = new ArrayList<>();
        if (!c.task.equals("classification")) bad.add("--task " + c.task);
        if (c.mixup > 0) bad.add("--mixup");
        if (c.cutmix > 0) bad.add("--cutmix");
        if (c.labelSmoothing > 0) bad.add("--label-smoothing");
        if (c.dropout > 0) bad.add("--dropout");
        if (!c.freeze.isEmpty()) bad.add("--freeze");
        if (c.freezeBn) bad.add("--freeze-bn");
        if (!bad.isEmpty()) {
            throw new IllegalArgumentException("not supported with --spark yet: " + String.join(", ", bad)
                    + " (the replicas train a classifier with plain cross-entropy)");
        }
    }

    /**
     * Replicas for {@code c}'s run: its training split, transform, sampler seed and batch size
     * (the global batch, shared equally by {@code replicas}), and its model's architecture.
     */
    public static SparkTrainer replicas(JavaSparkContext sc, TrainConfig c, int replicas, boolean syncBatchNorm) {
        check(c);
        String json = c.toJson();
        DataSources.Source src = open(json);
        String name = c.model;
        int classes = src.classes(), channels = src.channels();
        SerializableSupplier<Module> model = () -> Models.create(name, ModelConfig.defaults(classes).withInChannels(channels));
        SerializableSupplier<Dataset> train = () -> open(json).train();
        SerializableSupplier<Transform> transform = () -> open(json).trainTransform();
        return new SparkTrainer(sc, model, new TrainingData(train, transform, c.seed), c.batchSize, replicas, syncBatchNorm);
    }

    /**
     * Trains {@code c} as {@code trainer} does (the command line's trainer, which reports
     * progress and draws curves), with each step's gradient from {@code replicas} replicas on
     * {@code sc}.
     */
    public static Trainer.Result fit(JavaSparkContext sc, TrainConfig c, int replicas, boolean syncBatchNorm, Trainer trainer)
            throws IOException {
        try (SparkTrainer spark = replicas(sc, c, replicas, syncBatchNorm)) {
            return trainer.stepGradients(spark).fit();
        }
    }

    /** The config's data source, from its JSON (how a config travels to the executors). */
    private static DataSources.Source open(String json) {
        try {
            Map<String, Object> map = Json.parseObject(json);
            return DataSources.open(TrainConfig.fromMap(map));
        } catch (IOException e) {
            throw new UncheckedIOException("opening the training data: " + e.getMessage(), e);
        }
    }
}
