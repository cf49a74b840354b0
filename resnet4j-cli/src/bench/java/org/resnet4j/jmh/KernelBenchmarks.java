package org.resnet4j.jmh;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.resnet4j.kernels.BatchNorm;
import org.resnet4j.kernels.Conv;
import org.resnet4j.kernels.ConvShape;
import org.resnet4j.kernels.Gemm;
import org.resnet4j.kernels.GemmReference;
import org.resnet4j.kernels.Parallel;

/**
 * JMH microbenchmarks of the hot kernels, on demand (`./resnet4j jmh`), never in the test run.
 * Shapes are ResNet-50's: the conv GEMMs of layer1 (3x3, 64 channels at 56x56) and layer3
 * (1x1, 1024 -> 256 at 14x14), square sgemm, and BN over a layer1 activation. Each fast
 * kernel has its scalar twin beside it ({@code *Reference}) so the speed-up is read off one run.
 * Times are per call (GFLOPS: 2 n^3 / time for sgemm). Every benchmark runs on 2 compute threads
 * (the machine's cores) except the scalar twin, which is single-threaded by nature.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:G1HeapRegionSize=4m"})
public class KernelBenchmarks {

    @State(Scope.Benchmark)
    public static class Square {
        @Param({"512", "1024"})
        int n;
        @Param({"2"})
        int threads;
        float[] a, b, c;

        @Setup(Level.Trial)
        public void setup() {
            Parallel.setThreads(threads);
            a = random(n * n, 1);
            b = random(n * n, 2);
            c = new float[n * n];
        }
    }

    @Benchmark
    public float[] sgemm(Square s) {
        Gemm.gemm(false, false, s.n, s.n, s.n, s.a, 0, s.n, s.b, 0, s.n, s.c, 0, s.n, false);
        return s.c;
    }

    @State(Scope.Benchmark)
    public static class SmallSquare {
        float[] a = random(256 * 256, 1), b = random(256 * 256, 2), c = new float[256 * 256];

        @Setup(Level.Trial)
        public void setup() {
            Parallel.setThreads(2);
        }
    }

    /** The scalar twin at n = 256 (it is ~50x slower; larger n would dominate the run). */
    @Benchmark
    public float[] sgemmReference256(SmallSquare s) {
        GemmReference.gemm(false, false, 256, 256, 256, s.a, 0, 256, s.b, 0, 256, s.c, 0, 256, false);
        return s.c;
    }

    @Benchmark
    public float[] sgemm256(SmallSquare s) {
        Gemm.gemm(false, false, 256, 256, 256, s.a, 0, 256, s.b, 0, 256, s.c, 0, 256, false);
        return s.c;
    }

    @State(Scope.Benchmark)
    public static class ConvState {
        /** layer1 3x3: batch 1, 64 -> 64 at 56x56; layer3 1x1: batch 1, 1024 -> 256 at 14x14. */
        @Param({"layer1-3x3", "layer3-1x1"})
        String shape;
        @Param({"2"})
        int threads;
        ConvShape s;
        float[] x, w, y, dy, dx, dw;

        @Setup(Level.Trial)
        public void setup() {
            Parallel.setThreads(threads);
            s = shape.equals("layer1-3x3") ? ConvShape.of(1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1)
                    : ConvShape.of(1, 1024, 14, 14, 256, 1, 1, 1, 1, 0, 0, 1, 1, 1);
            x = random(s.n() * s.cin() * s.h() * s.w(), 3);
            w = random(s.cout() * s.cin() * s.kh() * s.kw(), 4);
            y = new float[s.n() * s.cout() * s.oh() * s.ow()];
            dy = random(y.length, 5);
            dx = new float[x.length];
            dw = new float[w.length];
        }
    }

    @Benchmark
    public float[] convForward(ConvState c) {
        Conv.forward(c.s, c.x, c.w, (float[]) null, c.y);
        return c.y;
    }

    @Benchmark
    public float[] convBackwardData(ConvState c) {
        Conv.backwardData(c.s, c.dy, c.w, c.dx);
        return c.dx;
    }

    @Benchmark
    public float[] convBackwardWeight(ConvState c) {
        Conv.backwardWeight(c.s, c.x, c.dy, c.dw, null, false);
        return c.dw;
    }

    @State(Scope.Benchmark)
    public static class BnState {
        final int n = 16, ch = 64, hw = 56 * 56;
        float[] x = random(n * ch * hw, 6), y = new float[n * ch * hw], gamma = random(ch, 7), beta = random(ch, 8);
        float[] runMean = new float[ch], runVar = new float[ch];

        @Setup(Level.Trial)
        public void setup() {
            Parallel.setThreads(2);
            java.util.Arrays.fill(runVar, 1f);
        }
    }

    @Benchmark
    public float[] batchNormEval(BnState b) {
        BatchNorm.forwardEval(b.n, b.ch, b.hw, b.x, b.gamma, b.beta, b.runMean, b.runVar, 1e-5f, b.y);
        return b.y;
    }

    static float[] random(int size, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[size];
        for (int i = 0; i < size; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return v;
    }
}
