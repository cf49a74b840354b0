package org.resnet4j.spark;

import java.io.Serializable;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.SparkException;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.Parameter;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.Optimizer;
import org.resnet4j.train.Trainer;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * Synchronous data-parallel training on Apache Spark, in the pattern of Spark MLlib's
 * mini-batch gradient descent (GradientDescent.runMiniBatchSGD): one Spark job per step.
 *
 * <ol>
 *   <li>The driver broadcasts the model's parameters and buffers
 *       (https://spark.apache.org/docs/latest/rdd-programming-guide.html#broadcast-variables).</li>
 *   <li>An RDD of {@code replicas} partitions, one replica index each, is aggregated with
 *       {@code treeAggregate}: each task loads the weights into its executor's replica, runs the
 *       forward and backward pass over its shard of the global batch ({@link BatchPlan}), and
 *       the gradients are summed along a tree of depth {@value #TREE_DEPTH}, as MLlib sums them.</li>
 *   <li>The driver puts the summed gradient on its own model's parameters and calls the core's
 *       {@link Optimizer} ({@code SGD}, {@code AdamW}: the same classes, state and checkpoints as
 *       single-machine training), then zeroes the gradients.</li>
 * </ol>
 *
 * <p><b>Same math as one machine.</b> The global batch of step t is the single-machine batch of
 * step t, and each replica's loss is its shard's summed loss over the <em>global</em> batch size
 * (Goyal et al. 2017), so the summed gradient is the single-machine mean-loss gradient for every
 * layer whose output does not depend on the other samples of the batch. Batch norm is the
 * exception: as in PyTorch's DistributedDataParallel without SyncBatchNorm, each replica
 * normalises with its own shard's statistics, and the running statistics kept (and broadcast at
 * the next step) are replica 0's, as DDP's {@code broadcast_buffers=True} keeps rank 0's
 * (https://pytorch.org/docs/stable/generated/torch.nn.parallel.DistributedDataParallel.html).
 * The step then equals, to float rounding, a single process that runs each shard's forward and
 * backward on its own and adds the gradients; with one replica, or without batch statistics, it
 * equals plain single-machine training.
 *
 * <p>With {@code syncBatchNorm} (PyTorch's SyncBatchNorm), the replicas exchange per-channel sums
 * during the step so that batch norm sees the whole global batch: the step then equals plain
 * single-machine training on it. That exchange needs the replicas running at the same time,
 * which Spark guarantees only in a barrier stage, and an all-reduce served by the driver
 * ({@code AllReduceHub}); the step stays one job, the rest unchanged.
 *
 * <p>Replicas run wherever Spark places their tasks; each executor JVM keeps the replicas it has
 * built. In local mode the tasks are threads of the driver's JVM and share resnet4j's one compute
 * pool ({@link org.resnet4j.kernels.Parallel}); on a cluster give each task the cores the pool
 * uses ({@code spark.task.cpus}).
 *
 * <p>Two ways to drive it: {@link #step} runs a step with the optimizer given here (set its lr
 * between steps for a schedule), or the core's {@link Trainer} takes it as its
 * {@link Trainer.StepGradients} ({@link SparkTraining} builds one from a training config) and
 * keeps its own schedule, clipping, EMA, evaluation, metrics and checkpoints. Not supported on
 * the replicas: batch transforms (MixUp, CutMix), label smoothing and dropout reseeding per step.
 *
 * <p><b>Failures.</b> A failed task of a per-step job is run again by Spark (up to
 * {@code spark.task.maxFailures} attempts, https://spark.apache.org/docs/latest/configuration.html#scheduling);
 * its step is a pure function of the broadcast weights and the step number, so the retry computes
 * the same gradient. Spark does not retry a failed barrier stage that ends a job ("Could not
 * recover from a failed barrier ResultStage", DAGScheduler in Spark 4.2.0), so with synchronized
 * batch norm the trainer runs the step's job again itself, up to {@link #stepAttempts} times in
 * all. A replica that does not join the all-reduce, or stops sending, fails the step after
 * {@link #allReduceTimeout} with a message naming it.
 */
public final class SparkTrainer implements AutoCloseable, Trainer.StepGradients {
    /** treeAggregate's depth, MLlib's default: with many replicas the executors add partial sums before the driver does. */
    public static final int TREE_DEPTH = 2;
    /** Spark configuration key of {@link #allReduceTimeout} (a time, e.g. "30s"); default 120 s. */
    public static final String ALL_REDUCE_TIMEOUT = "spark.resnet4j.allReduceTimeout";
    /** Spark configuration key of {@link #stepAttempts}; default 2. */
    public static final String STEP_ATTEMPTS = "spark.resnet4j.stepAttempts";
    private static final ClassTag<GradientSum> SUM_TAG = ClassTag$.MODULE$.apply(GradientSum.class);

    /**
     * One step's outcome: the global batch's mean loss and top-1 accuracy before the update, its
     * wall time, and of that the longest replica's loading, forward and backward pass
     * ({@code computeSeconds}; the rest is Spark's scheduling, the broadcast, the gradient sum and
     * the update).
     */
    public record StepResult(long step, double loss, double accuracy, double seconds, double computeSeconds) {}

    private final JavaSparkContext sc;
    private final SerializableSupplier<? extends Module> modelFactory;
    private final TrainingData data;
    private final BatchPlan plan;
    private final Module model;
    private final Optimizer optimizer; // null when a Trainer drives the steps
    private final JavaRDD<Integer> replicaIds;
    private final String id = UUID.randomUUID().toString();
    private final boolean syncBatchNorm;
    private final AllReduceHub hub; // null without synchronized batch norm
    private int timeoutMs, stepAttempts;
    private long step;
    private double lastComputeSeconds;

    /**
     * @param modelFactory builds the model; called once on the driver (whose weights are the
     *        initial ones every replica gets) and once per replica on the executors
     * @param data the dataset, transform and sampler seed
     * @param globalBatch samples per step, over all replicas: a multiple of {@code replicas}
     * @param replicas model replicas, one Spark task each per step
     * @param optimizer builds the optimizer over the driver's model (e.g.
     *        {@code m -> new SGD(ParamGroups.of(m, false), 0.1, 0.9, 5e-4)})
     */
    public SparkTrainer(JavaSparkContext sc, SerializableSupplier<? extends Module> modelFactory, TrainingData data,
                        int globalBatch, int replicas, Function<Module, ? extends Optimizer> optimizer) {
        this(sc, modelFactory, data, globalBatch, replicas, optimizer, false);
    }

    /**
     * As above; with {@code syncBatchNorm}, batch norm uses the statistics of the whole global
     * batch (PyTorch's SyncBatchNorm), which makes a step equal to one machine's on the whole
     * batch. Each step is then a barrier stage
     * (https://spark.apache.org/docs/latest/api/java/org/apache/spark/rdd/RDDBarrier.html), whose
     * replicas Spark starts together, and they exchange per-channel sums through an all-reduce
     * the driver serves over TCP, three times per batch-norm layer (two sums forward, one
     * backward). The cluster needs a free task slot for every replica at once, and the executors
     * must reach the driver's host on the port the hub picks.
     */
    public SparkTrainer(JavaSparkContext sc, SerializableSupplier<? extends Module> modelFactory, TrainingData data,
                        int globalBatch, int replicas, Function<Module, ? extends Optimizer> optimizer, boolean syncBatchNorm) {
        this(sc, modelFactory, data, globalBatch, replicas, syncBatchNorm, modelFactory.get(), Objects.requireNonNull(optimizer, "optimizer"));
    }

    /**
     * Replicas for a core {@link Trainer}, which owns the driver's model and optimizer and calls
     * {@link #compute} once a step ({@code trainer.stepGradients(sparkTrainer)}); {@link #step} is
     * then unavailable. {@code modelFactory} need only build the architecture: every step loads
     * the driver model's state into the replicas first.
     */
    public SparkTrainer(JavaSparkContext sc, SerializableSupplier<? extends Module> modelFactory, TrainingData data,
                        int globalBatch, int replicas, boolean syncBatchNorm) {
        this(sc, modelFactory, data, globalBatch, replicas, syncBatchNorm, null, null);
    }

    private SparkTrainer(JavaSparkContext sc, SerializableSupplier<? extends Module> modelFactory, TrainingData data,
                         int globalBatch, int replicas, boolean syncBatchNorm, Module model, Function<Module, ? extends Optimizer> optimizer) {
        this.sc = Objects.requireNonNull(sc, "spark context");
        this.modelFactory = Objects.requireNonNull(modelFactory, "model factory");
        this.data = Objects.requireNonNull(data, "training data");
        this.plan = new BatchPlan(data.dataset().get(), globalBatch, replicas, data.seed());
        this.timeoutMs = (int) sc.getConf().getTimeAsMs(ALL_REDUCE_TIMEOUT, AllReduceHub.TIMEOUT_MS + "ms");
        this.stepAttempts = sc.getConf().getInt(STEP_ATTEMPTS, 2);
        if (stepAttempts < 1) throw new IllegalArgumentException(STEP_ATTEMPTS + " must be >= 1, got " + stepAttempts);
        this.syncBatchNorm = syncBatchNorm;
        this.model = model;
        this.optimizer = optimizer == null ? null : optimizer.apply(model);
        this.replicaIds = sc.parallelize(IntStream.range(0, replicas).boxed().toList(), replicas);
        this.hub = syncBatchNorm ? new AllReduceHub(sc.getConf().get("spark.driver.host"), timeoutMs) : null;
    }

    /** Runs step {@link #steps()}: one Spark job, then the optimizer's update on the driver. */
    public StepResult step() {
        if (optimizer == null) throw new IllegalStateException("this trainer's steps are driven by a core Trainer (compute)");
        long t0 = System.nanoTime();
        optimizer.zeroGrad();
        Trainer.Computed c = compute(model, plan.epoch(step), step);
        optimizer.step();
        optimizer.zeroGrad();
        StepResult result = new StepResult(step, c.loss(), (double) c.correct() / c.counted(), (System.nanoTime() - t0) / 1e9, lastComputeSeconds);
        step++;
        return result;
    }

    /**
     * Global step {@code iteration} on the replicas from {@code model}'s current state: leaves the
     * summed gradient on its parameters and replica 0's buffers in the model (the
     * {@link Trainer.StepGradients} contract). {@code epoch} must be the one the plan gives.
     */
    @Override
    public Trainer.Computed compute(Module model, int epoch, long iteration) {
        if (epoch != plan.epoch(iteration)) {
            throw new IllegalArgumentException("step " + iteration + " falls in epoch " + plan.epoch(iteration) + ", not " + epoch
                    + ": the trainer's batches per epoch differ from the plan's " + plan.batchesPerEpoch());
        }
        int[] global = plan.globalBatch(iteration);
        int[][] shards = new int[plan.replicas()][];
        for (int r = 0; r < shards.length; r++) shards[r] = plan.shard(global, r);
        Broadcast<ModelState> weights = sc.broadcast(ModelState.of(model));
        GradientSum sum;
        try {
            sc.setJobDescription("resnet4j step " + iteration + " (epoch " + epoch + ")");
            sum = syncBatchNorm ? synced(weights, shards, epoch, global.length, iteration)
                    : replicaIds.treeAggregate(GradientSum.empty(),
                            shardGradients(id, modelFactory, data, weights, shards, epoch, global.length),
                            GradientSum::merge, TREE_DEPTH);
        } finally {
            weights.destroy(); // this step's weights are never read again: free them on every executor now
        }
        if (sum.samples != global.length) {
            throw new IllegalStateException("step " + iteration + ": replicas covered " + sum.samples + " of " + global.length + " samples");
        }
        List<Parameter> params = model.parameters();
        for (int i = 0; i < params.size(); i++) {
            float[] g = sum.gradient(i);
            if (g != null) params.get(i).addGrad(Tensor.of(g, params.get(i).value().shape()));
        }
        List<Tensor> buffers = Replica.buffers(model);
        for (int i = 0; i < buffers.size(); i++) System.arraycopy(sum.buffers[i], 0, buffers.get(i).data(), 0, sum.buffers[i].length);
        lastComputeSeconds = sum.computeSeconds;
        return new Trainer.Computed(sum.lossSum / sum.samples, sum.correct, sum.samples, (int) sum.samples);
    }

    /**
     * The step as a barrier stage with the hub serving its all-reduce; a failed job is run again,
     * with a new token, up to {@link #stepAttempts} times (Spark itself does not re-run a failed
     * barrier stage that ends a job).
     */
    private GradientSum synced(Broadcast<ModelState> weights, int[][] shards, int epoch, int globalBatch, long iteration) {
        for (int attempt = 1; ; attempt++) {
            String token = id + "/" + iteration + "/" + UUID.randomUUID();
            Future<?> exchange = hub.serve(token, plan.replicas());
            try {
                GradientSum sum = JavaRDD.fromRDD(replicaIds.rdd().barrier().mapPartitions(
                                new SyncedShardGradients(id, modelFactory, data, weights, shards, epoch, globalBatch,
                                        hub.address(), token, timeoutMs), false, SUM_TAG), SUM_TAG)
                        .treeAggregate(GradientSum.empty(), GradientSum::merge, GradientSum::merge, TREE_DEPTH);
                awaitExchange(exchange, iteration);
                return sum;
            } catch (Exception e) { // a failed job surfaces as SparkException, a checked exception Scala code throws undeclared
                // the hub's own account (which replica stopped, and how) says more than a replica's broken socket
                String why = exchangeFailure(exchange);
                if (!(e instanceof SparkException) || attempt >= stepAttempts) {
                    throw new IllegalStateException("step " + iteration + " failed" + (attempt > 1 ? " " + attempt + " times" : "")
                            + (why != null ? ": " + why : ": " + e.getMessage()), e);
                }
                System.err.printf("resnet4j: step %d failed (%s), running it again (attempt %d of %d)%n",
                        iteration, why != null ? why : e.getMessage(), attempt + 1, stepAttempts);
            } finally {
                exchange.cancel(true); // a no-op when it ended; else the failed step's hub stops waiting
                hub.abort();
            }
        }
    }

    /**
     * The message of the exchange's failure, or null. Waits a moment: the hub closing its sockets
     * is what fails the replicas, so the job's failure can reach the driver a little before the
     * hub's own.
     */
    private static String exchangeFailure(Future<?> exchange) {
        try {
            exchange.get(1, TimeUnit.SECONDS);
            return null;
        } catch (ExecutionException e) {
            return "the batch-norm all-reduce failed: " + e.getCause().getMessage();
        } catch (TimeoutException | java.util.concurrent.CancellationException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /**
     * The task's function, built in a static method so that it captures only what it names (a
     * lambda in {@link #step} could drag the trainer, which holds the Spark context, into the task).
     */
    private static Function2<GradientSum, Integer, GradientSum> shardGradients(
            String id, SerializableSupplier<? extends Module> modelFactory, TrainingData data,
            Broadcast<ModelState> weights, int[][] shards, int epoch, int globalBatch) {
        return (acc, replica) -> acc.merge(Replica.get(id, replica, modelFactory, data)
                .compute(weights.value(), shards[replica], epoch, globalBatch, replica));
    }

    private void awaitExchange(Future<?> exchange, long iteration) {
        try {
            exchange.get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException("step " + iteration + ": the batch-norm exchange failed: " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("step " + iteration + ": the batch-norm exchange did not end", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted in step " + iteration, e);
        }
    }
    /**
     * As {@link #shardGradients}, for a barrier stage: batch norm synchronized through the
     * driver's {@link AllReduceHub}. RDDBarrier has no Java API: its mapPartitions takes a Scala function, hence a
     * class (serializable, as a task's function must be). (Its mapPartitionsWithEvaluator takes
     * Java interfaces but, in Spark 4.2.0, does not make the stage a barrier stage.)
     */
    private static final class SyncedShardGradients
            extends AbstractFunction1<scala.collection.Iterator<Integer>, scala.collection.Iterator<GradientSum>> implements Serializable {
        private static final long serialVersionUID = 1L;
        private final String id;
        private final SerializableSupplier<? extends Module> modelFactory;
        private final TrainingData data;
        private final Broadcast<ModelState> weights;
        private final int[][] shards;
        private final int epoch, globalBatch;
        private final String hub, token;
        private final int timeoutMs;

        SyncedShardGradients(String id, SerializableSupplier<? extends Module> modelFactory, TrainingData data,
                             Broadcast<ModelState> weights, int[][] shards, int epoch, int globalBatch, String hub, String token,
                             int timeoutMs) {
            this.timeoutMs = timeoutMs;
            this.hub = hub;
            this.token = token;
            this.id = id;
            this.modelFactory = modelFactory;
            this.data = data;
            this.weights = weights;
            this.shards = shards;
            this.epoch = epoch;
            this.globalBatch = globalBatch;
        }

        @Override
        public scala.collection.Iterator<GradientSum> apply(scala.collection.Iterator<Integer> replicas) {
            int replica = replicas.next();
            try (AllReduceHub.Client reduce = new AllReduceHub.Client(hub, token, replica, timeoutMs)) {
                GradientSum sum = Replica.get(id, replica, modelFactory, data)
                        .compute(weights.value(), shards[replica], epoch, globalBatch, replica, reduce);
                reduce.finished();
                return CollectionConverters.asScala(List.of(sum).iterator());
            }
        }
    }

    /** Whether batch norm is synchronized across replicas. */
    public boolean syncBatchNorm() {
        return syncBatchNorm;
    }

    /** The driver's model: after each step, the trained weights and replica 0's running statistics (null when a Trainer drives). */
    public Module model() {
        return model;
    }

    /** The optimizer on the driver's model (null when a Trainer drives). */
    public Optimizer optimizer() {
        return optimizer;
    }

    /** How long the all-reduce waits for a replica to join or to send its next sums ({@value #ALL_REDUCE_TIMEOUT}). */
    public java.time.Duration allReduceTimeout() {
        return java.time.Duration.ofMillis(timeoutMs);
    }

    /** Sets {@link #allReduceTimeout()} for the following steps (at least a millisecond). */
    public SparkTrainer allReduceTimeout(java.time.Duration timeout) {
        long ms = timeout.toMillis();
        if (ms < 1 || ms > Integer.MAX_VALUE) throw new IllegalArgumentException("all-reduce timeout out of range: " + timeout);
        timeoutMs = (int) ms;
        if (hub != null) hub.timeoutMs(timeoutMs);
        return this;
    }

    /** Attempts a synchronized step's job gets in all before the step fails ({@value #STEP_ATTEMPTS}). */
    public int stepAttempts() {
        return stepAttempts;
    }

    /** Sets {@link #stepAttempts()} for the following steps. */
    public SparkTrainer stepAttempts(int attempts) {
        if (attempts < 1) throw new IllegalArgumentException("step attempts must be >= 1, got " + attempts);
        stepAttempts = attempts;
        return this;
    }

    /** Steps done so far. */
    public long steps() {
        return step;
    }

    public BatchPlan plan() {
        return plan;
    }

    /** Drops the replicas this JVM keeps (in local mode, all of them); the Spark context stays open. */
    @Override
    public void close() {
        Replica.forget(id);
        if (hub != null) hub.close();
    }
}
