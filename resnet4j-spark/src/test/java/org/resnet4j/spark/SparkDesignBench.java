package org.resnet4j.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.Future;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.resnet4j.kernels.Parallel;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.Parameter;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.Optimizer;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * The two designs of synchronous data-parallel training, timed on resnet20 (docs/SCALING.md):
 * <ul>
 *   <li>per-step job (SparkTrainer, Spark MLlib's pattern): every step a Spark job, weights
 *       broadcast, gradients summed with treeAggregate, the update on the driver;</li>
 *   <li>resident replicas: one barrier job for all steps, each replica keeping its model and
 *       optimizer, the gradients all-reduced every step (here through the driver's
 *       AllReduceHub), every replica applying the same update.</li>
 * </ul>
 * Each step's time is split into compute (loading the shard, forward and backward: the longest
 * replica's) and the rest (per-step job: scheduling, broadcast, gradient sum, update; resident:
 * the all-reduce, and the update apart). Not a test: run with
 * {@code ./resnet4j test -pl resnet4j-spark -am -Dtest=SparkDesignBench -Dresnet4j.bench=true -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@EnabledIfSystemProperty(named = "resnet4j.bench", matches = "true")
class SparkDesignBench {
    static final int GLOBAL_BATCH = 64, WARMUP = 3, STEPS = 10;
    static final TrainingData DATA = new TrainingData(() -> new org.resnet4j.data.SyntheticShapes(1024, 7), SparkTrainerTest.DATA.transform(), 1);

    @Test
    void bothDesignsOnLocal1AndLocal2() {
        LocalSpark.stop();
        Parallel.setThreads(1); // one compute thread a task: local[N] runs N tasks on N cores
        List<String> rows = new ArrayList<>();
        for (int cores : new int[] {1, 2}) {
            try (JavaSparkContext sc = new JavaSparkContext(LocalSpark.conf("local[" + cores + "]", "SparkDesignBench"))) {
                rows.add(emptyJob(sc, cores));
                rows.add(perStepJob(sc, cores));
                rows.add(resident(sc, cores));
            }
        }
        System.out.println("BENCH design | master | replicas | step s | compute s | communication and overhead s | update s");
        rows.forEach(r -> System.out.println("BENCH " + r));
    }

    /** Spark's floor per step: a job of one empty task per replica, with a broadcast of 4 bytes. */
    private static String emptyJob(JavaSparkContext sc, int replicas) {
        JavaRDD<Integer> ids = sc.parallelize(java.util.stream.IntStream.range(0, replicas).boxed().toList(), replicas);
        double total = 0;
        for (int i = 0; i < WARMUP * 10 + STEPS * 10; i++) {
            long t0 = System.nanoTime();
            var b = sc.broadcast(i);
            ids.map(x -> x + b.value()).count();
            b.destroy();
            if (i >= WARMUP * 10) total += (System.nanoTime() - t0) / 1e9;
        }
        return String.format(Locale.ROOT, "empty job | local[%d] | %d | %.4f | 0 | %.4f |", replicas, replicas, total / (STEPS * 10), total / (STEPS * 10));
    }

    private static String perStepJob(JavaSparkContext sc, int replicas) {
        double total = 0, compute = 0;
        try (SparkTrainer t = new SparkTrainer(sc, SparkTrainerTest.RESNET20, DATA, GLOBAL_BATCH, replicas, SparkTrainerTest.SGD_MOMENTUM)) {
            for (int i = 0; i < WARMUP + STEPS; i++) {
                SparkTrainer.StepResult r = t.step();
                if (i >= WARMUP) {
                    total += r.seconds();
                    compute += r.computeSeconds();
                }
            }
        }
        return String.format(Locale.ROOT, "per-step job | local[%d] | %d | %.3f | %.3f | %.3f | (in the overhead)", replicas, replicas,
                total / STEPS, compute / STEPS, (total - compute) / STEPS);
    }

    private static String resident(JavaSparkContext sc, int replicas) {
        try (AllReduceHub hub = new AllReduceHub("127.0.0.1", AllReduceHub.TIMEOUT_MS)) {
            String token = UUID.randomUUID().toString();
            Future<?> exchange = hub.serve(token, replicas);
            JavaRDD<Integer> ids = sc.parallelize(java.util.stream.IntStream.range(0, replicas).boxed().toList(), replicas);
            var tag = ClassTag$.MODULE$.<double[]>apply(double[].class);
            List<double[]> perReplica = JavaRDD.fromRDD(ids.rdd().barrier().mapPartitions(
                    new ResidentSteps(hub.address(), token, replicas), false, tag), tag).collect();
            exchange.cancel(true);
            double[] t = perReplica.get(0); // replica 0's sums over the measured steps: total, compute, all-reduce, update
            double compute = 0;
            for (double[] r : perReplica) compute = Math.max(compute, r[1]);
            return String.format(Locale.ROOT, "resident replicas | local[%d] | %d | %.3f | %.3f | %.3f | %.3f", replicas, replicas,
                    t[0] / STEPS, compute / STEPS, t[2] / STEPS, t[3] / STEPS);
        }
    }

    /** A resident replica: its own model and optimizer for every step, the gradient all-reduced each step. */
    static final class ResidentSteps extends AbstractFunction1<scala.collection.Iterator<Integer>, scala.collection.Iterator<double[]>>
            implements Serializable {
        private static final long serialVersionUID = 1L;
        private final String hub, token;
        private final int replicas;

        ResidentSteps(String hub, String token, int replicas) {
            this.hub = hub;
            this.token = token;
            this.replicas = replicas;
        }

        @Override
        public scala.collection.Iterator<double[]> apply(scala.collection.Iterator<Integer> ids) {
            int replica = ids.next();
            String id = "resident-" + token;
            Module model = SparkTrainerTest.RESNET20.get();
            Optimizer opt = SparkTrainerTest.SGD_MOMENTUM.apply(model);
            List<Parameter> params = model.parameters();
            BatchPlan plan = new BatchPlan(DATA.dataset().get(), GLOBAL_BATCH, replicas, DATA.seed());
            Replica worker = Replica.get(id, replica, SparkTrainerTest.RESNET20, DATA);
            double[] times = new double[4];
            try (AllReduceHub.Client reduce = new AllReduceHub.Client(hub, token, replica, AllReduceHub.TIMEOUT_MS)) {
                for (int step = 0; step < WARMUP + STEPS; step++) {
                    long t0 = System.nanoTime();
                    int[] shard = plan.shard(plan.globalBatch(step), replica);
                    GradientSum g = worker.compute(ModelState.of(model), shard, plan.epoch(step), GLOBAL_BATCH, replica);
                    long t1 = System.nanoTime();
                    int n = 0;
                    for (float[] a : g.grads) n += a.length;
                    double[] flat = new double[n];
                    int k = 0;
                    for (float[] a : g.grads) for (float v : a) flat[k++] = v;
                    reduce.sum(flat);
                    long t2 = System.nanoTime();
                    k = 0;
                    opt.zeroGrad();
                    for (Parameter p : params) {
                        float[] sum = new float[p.value().size()];
                        for (int j = 0; j < sum.length; j++) sum[j] = (float) flat[k++];
                        p.addGrad(Tensor.of(sum, p.value().shape()));
                    }
                    opt.step();
                    long t3 = System.nanoTime();
                    if (step >= WARMUP) {
                        times[0] += (t3 - t0) / 1e9;
                        times[1] += (t1 - t0) / 1e9;
                        times[2] += (t2 - t1) / 1e9;
                        times[3] += (t3 - t2) / 1e9;
                    }
                }
                reduce.finished();
            } finally {
                Replica.forget(id);
            }
            return CollectionConverters.asScala(List.of(times).iterator());
        }
    }
}
