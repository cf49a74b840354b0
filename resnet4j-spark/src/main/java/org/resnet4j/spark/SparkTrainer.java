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
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.Parameter;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.Optimizer;
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
 * uses ({@code spark.task.cpus}). Not supported yet: batch transforms (MixUp, CutMix), dropout
 * reseeding per step, gradient clipping and learning-rate schedules inside the trainer (set the
 * optimizer's lr between steps).
 */
public final class SparkTrainer implements AutoCloseable {
    /** treeAggregate's depth, MLlib's default: with many replicas the executors add partial sums before the driver does. */
    public static final int TREE_DEPTH = 2;
    private static final ClassTag<GradientSum> SUM_TAG = ClassTag$.MODULE$.apply(GradientSum.class);

    /** One step's outcome: the global batch's mean loss and top-1 accuracy before the update, and its wall time. */
    public record StepResult(long step, double loss, double accuracy, double seconds) {}

    private final JavaSparkContext sc;
    private final SerializableSupplier<? extends Module> modelFactory;
    private final TrainingData data;
    private final BatchPlan plan;
    private final Module model;
    private final List<Parameter> params;
    private final List<Tensor> buffers;
    private final Optimizer optimizer;
    private final JavaRDD<Integer> replicaIds;
    private final String id = UUID.randomUUID().toString();
    private final boolean syncBatchNorm;
    private final AllReduceHub hub; // null without synchronized batch norm
    private long step;

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
        this.syncBatchNorm = syncBatchNorm;
        this.hub = syncBatchNorm ? new AllReduceHub(sc.getConf().get("spark.driver.host")) : null;
        this.sc = Objects.requireNonNull(sc, "spark context");
        this.modelFactory = Objects.requireNonNull(modelFactory, "model factory");
        this.data = Objects.requireNonNull(data, "training data");
        this.plan = new BatchPlan(data.dataset().get(), globalBatch, replicas, data.seed());
        this.model = modelFactory.get();
        this.params = model.parameters();
        this.buffers = Replica.buffers(model);
        this.optimizer = Objects.requireNonNull(optimizer, "optimizer").apply(model);
        this.replicaIds = sc.parallelize(IntStream.range(0, replicas).boxed().toList(), replicas);
    }

    /** Runs step {@link #steps()}: one Spark job, then the optimizer's update on the driver. */
    public StepResult step() {
        long t0 = System.nanoTime();
        int epoch = plan.epoch(step);
        int[] global = plan.globalBatch(step);
        int[][] shards = new int[plan.replicas()][];
        for (int r = 0; r < shards.length; r++) shards[r] = plan.shard(global, r);
        Broadcast<ModelState> weights = sc.broadcast(ModelState.of(model));
        String token = syncBatchNorm ? id + "/" + step + "/" + UUID.randomUUID() : null;
        Future<?> exchange = syncBatchNorm ? hub.serve(token, plan.replicas()) : null;
        GradientSum sum;
        try {
            sc.setJobDescription("resnet4j step " + step + " (epoch " + epoch + ")");
            sum = syncBatchNorm
                    ? JavaRDD.fromRDD(replicaIds.rdd().barrier().mapPartitions(
                                    new SyncedShardGradients(id, modelFactory, data, weights, shards, epoch, global.length,
                                            hub.address(), token), false, SUM_TAG),
                            SUM_TAG)
                            .treeAggregate(GradientSum.empty(), GradientSum::merge, GradientSum::merge, TREE_DEPTH)
                    : replicaIds.treeAggregate(GradientSum.empty(),
                            shardGradients(id, modelFactory, data, weights, shards, epoch, global.length),
                            GradientSum::merge, TREE_DEPTH);
            if (exchange != null) awaitExchange(exchange);
        } finally {
            weights.destroy(); // this step's weights are never read again: free them on every executor now
            if (exchange != null) exchange.cancel(true); // a no-op when it ended; else the failed step's hub stops waiting
        }
        if (sum.samples != global.length) {
            throw new IllegalStateException("step " + step + ": replicas covered " + sum.samples + " of " + global.length + " samples");
        }
        apply(sum);
        StepResult result = new StepResult(step, sum.lossSum / sum.samples, (double) sum.correct / sum.samples, (System.nanoTime() - t0) / 1e9);
        step++;
        return result;
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

    private void awaitExchange(Future<?> exchange) {
        try {
            exchange.get(AllReduceHub.TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException("step " + step + ": the batch-norm exchange failed: " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("step " + step + ": the batch-norm exchange did not end", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted in step " + step, e);
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

        SyncedShardGradients(String id, SerializableSupplier<? extends Module> modelFactory, TrainingData data,
                             Broadcast<ModelState> weights, int[][] shards, int epoch, int globalBatch, String hub, String token) {
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
            try (AllReduceHub.Client reduce = new AllReduceHub.Client(hub, token, replica)) {
                GradientSum sum = Replica.get(id, replica, modelFactory, data)
                        .compute(weights.value(), shards[replica], epoch, globalBatch, replica, reduce);
                return CollectionConverters.asScala(List.of(sum).iterator());
            }
        }
    }

    /** Whether batch norm is synchronized across replicas. */
    public boolean syncBatchNorm() {
        return syncBatchNorm;
    }

    /** The summed gradient onto the driver's parameters, replica 0's buffers into its model, then the update. */
    private void apply(GradientSum sum) {
        optimizer.zeroGrad();
        for (int i = 0; i < params.size(); i++) {
            float[] g = sum.grads[i];
            if (g != null) params.get(i).addGrad(Tensor.of(g, params.get(i).value().shape()));
        }
        for (int i = 0; i < buffers.size(); i++) System.arraycopy(sum.buffers[i], 0, buffers.get(i).data(), 0, sum.buffers[i].length);
        optimizer.step();
        optimizer.zeroGrad();
    }

    /** The driver's model: after each step, the trained weights and replica 0's running statistics. */
    public Module model() {
        return model;
    }

    public Optimizer optimizer() {
        return optimizer;
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
