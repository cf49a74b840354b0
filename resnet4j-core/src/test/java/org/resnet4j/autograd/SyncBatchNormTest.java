package org.resnet4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.resnet4j.autograd.ops.BatchNormOp;
import org.resnet4j.autograd.ops.SyncBatchNormOp;
import org.resnet4j.tensor.Tensor;

/**
 * Synchronized batch norm: shards of one batch, normalised on two threads that sum their
 * statistics through an in-memory all-reduce, give what batch norm gives on the whole batch.
 */
class SyncBatchNormTest {
    static final int N = 6, C = 5, H = 4, W = 3;
    static final float TOL = 1e-5f;

    /** The outputs, input gradient, parameter gradients and running statistics of a run over some images. */
    private record Run(float[] y, float[] dx, float[] dgamma, float[] dbeta, float[] runningMean, float[] runningVar) {}

    private static Tensor images(Tensor t, int from, int to) {
        int per = t.size() / t.shape()[0];
        return Tensor.of(Arrays.copyOfRange(t.data(), from * per, to * per), to - from, C, H, W);
    }

    /** Batch norm in training over images [from, to) of x, backward from the same slice of dy. */
    private static Run run(Tensor x, Tensor dy, int from, int to, boolean relu) {
        Variable xv = Variable.leaf(images(x, from, to));
        Variable gamma = Variable.leaf(Tensor.uniform(4, 0.5f, 1.5f, C)), beta = Variable.leaf(Tensor.randn(5, C));
        Tensor rm = Tensor.randn(6, C), rv = Tensor.uniform(7, 0.5f, 2f, C);
        Variable y = BatchNormOp.apply(xv, gamma, beta, rm, rv, true, 0.1f, 1e-5f, relu);
        float[] out = y.value().data().clone();
        y.backward(images(dy, from, to));
        return new Run(out, xv.grad().data(), gamma.grad().data(), beta.grad().data(), rm.data(), rv.data());
    }

    /** Sums over two threads: each publishes its array, waits for the other, adds both in rank order. */
    private static final class TwoThreadSum {
        final CyclicBarrier barrier = new CyclicBarrier(2);
        final double[][] slots = new double[2][];
        final AtomicInteger calls = new AtomicInteger();

        SyncBatchNormOp.AllReduce rank(int r) {
            return v -> {
                calls.incrementAndGet();
                slots[r] = v.clone();
                await();
                for (int i = 0; i < v.length; i++) v[i] = slots[0][i] + slots[1][i];
                await(); // nobody overwrites a slot before both have read it
            };
        }

        private void await() {
            try {
                barrier.await(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private static void close(float[] expected, float[] actual, String what) {
        float scale = 0;
        for (float v : expected) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], TOL * scale, what + " [" + i + "] of " + expected.length);
        }
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @ParameterizedTest(name = "relu={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(30)
    void twoShardsSynchronizedEqualTheWholeBatch(boolean relu) throws Exception {
        Tensor x = Tensor.randn(1, N, C, H, W), dy = Tensor.randn(2, N, C, H, W);
        for (int i = 0; i < x.size(); i++) x.data()[i] = x.data()[i] * 2 + 0.5f * (i % 7); // channels with a mean and spread
        Run whole = run(x, dy, 0, N, relu);

        TwoThreadSum sum = new TwoThreadSum();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<Run> first = pool.submit(() -> SyncBatchNormOp.with(sum.rank(0), () -> run(x, dy, 0, 2, relu)));
            Future<Run> second = pool.submit(() -> SyncBatchNormOp.with(sum.rank(1), () -> run(x, dy, 2, N, relu)));
            Run a = first.get(20, TimeUnit.SECONDS), b = second.get(20, TimeUnit.SECONDS);
            assertEquals(2 * 3, sum.calls.get(), "each replica: two sums forward, one backward");
            close(whole.y(), concat(a.y(), b.y()), "y");
            close(whole.dx(), concat(a.dx(), b.dx()), "dx");
            float[] dg = a.dgamma().clone(), db = a.dbeta().clone();
            for (int c = 0; c < C; c++) {
                dg[c] += b.dgamma()[c];
                db[c] += b.dbeta()[c];
            }
            close(whole.dgamma(), dg, "dgamma summed over the replicas");
            close(whole.dbeta(), db, "dbeta summed over the replicas");
            assertArrayEquals(a.runningMean(), b.runningMean(), "every replica keeps the same running mean");
            assertArrayEquals(a.runningVar(), b.runningVar(), "and running variance");
            close(whole.runningMean(), a.runningMean(), "running mean");
            close(whole.runningVar(), a.runningVar(), "running var");
            // the shards' own statistics differ from the batch's: unsynchronized, the outputs would not match
            Run alone = run(x, dy, 0, 2, relu);
            float diff = 0;
            for (int i = 0; i < alone.y().length; i++) diff = Math.max(diff, Math.abs(alone.y()[i] - whole.y()[i]));
            assertTrue(diff > 1e-2f, "a shard normalised on its own differs from the batch: " + diff);
        } finally {
            pool.shutdownNow();
        }
    }

    @ParameterizedTest(name = "relu={0}")
    @ValueSource(booleans = {false, true})
    void oneReplicaIsPlainBatchNorm(boolean relu) {
        Tensor x = Tensor.randn(3, N, C, H, W), dy = Tensor.randn(4, N, C, H, W);
        Run plain = run(x, dy, 0, N, relu);
        Run synced = SyncBatchNormOp.with(v -> {}, () -> run(x, dy, 0, N, relu));
        close(plain.y(), synced.y(), "y");
        close(plain.dx(), synced.dx(), "dx");
        close(plain.dgamma(), synced.dgamma(), "dgamma");
        close(plain.dbeta(), synced.dbeta(), "dbeta");
        close(plain.runningMean(), synced.runningMean(), "running mean");
        close(plain.runningVar(), synced.runningVar(), "running var");
    }
}
