package org.resnet4j.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.resnet4j.autograd.OpProfile;
import org.resnet4j.autograd.Variable;
import org.resnet4j.kernels.Gemm;
import org.resnet4j.kernels.Hardware;
import org.resnet4j.kernels.Parallel;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.CrossEntropyLoss;
import org.resnet4j.nn.Inference;
import org.resnet4j.nn.Module;
import org.resnet4j.segmentation.SegmentationModel;
import org.resnet4j.segmentation.SegmentationModels;
import org.resnet4j.tensor.BufferPool;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.ParamGroups;
import org.resnet4j.train.SGD;

/**
 * Speed measurements with the same method and keys as the PyTorch anchor
 * (shared/bench/torch_anchor.py): warm up, then repeat for at least {@code minSeconds} and at
 * least 3 times, and report the mean time per call. Each result is one JSON-able map.
 */
public final class Benchmarks {
    private Benchmarks() {}

    /** Seconds of warm-up before each timing (default 10; {@code bench --warmup-seconds}). */
    private static volatile double warmupSeconds = 10;

    public static void setWarmupSeconds(double seconds) {
        if (!(seconds >= 0)) throw new IllegalArgumentException("warm-up seconds must be >= 0, got " + seconds);
        warmupSeconds = seconds;
    }

    /**
     * Mean seconds per call over >= minSeconds and >= 3 calls, after a warm-up of at least
     * {@code warm} calls and at least {@link #warmupSeconds}: the JIT compiles the hot loops
     * during the first calls (PyTorch's kernels need no warm-up), and the figure is the steady
     * state a training run or a server sees. A 3-second warm-up was measured too short: resnet20
     * training at 1x28x28 timed 110-124 images/s after it and 216 after 20 seconds.
     */
    public static double time(Runnable fn, double minSeconds, int warm) {
        long w0 = System.nanoTime();
        for (int i = 0; i < warm || (System.nanoTime() - w0) / 1e9 < warmupSeconds; i++) fn.run();
        long t0 = System.nanoTime();
        int n = 0;
        double perCall;
        while (true) {
            fn.run();
            n++;
            double dt = (System.nanoTime() - t0) / 1e9;
            if (dt >= minSeconds && n >= 3) {
                perCall = dt / n;
                break;
            }
        }
        if (profile) lastProfile = profile(fn, n);
        return perCall;
    }

    private static volatile boolean profile;
    private static volatile String lastProfile;

    /** With {@code on}, each figure is followed by as many calls again under {@link OpProfile} ({@code bench --profile}). */
    public static void setProfile(boolean on) {
        profile = on;
    }

    /** The op table of the last figure timed with profiling on, or null. */
    public static String lastProfile() {
        return lastProfile;
    }

    /** The op table of {@code calls} more calls, with a row for the time spent outside the timed ops. */
    private static String profile(Runnable fn, int calls) {
        OpProfile.start();
        long t0 = System.nanoTime();
        for (int i = 0; i < calls; i++) fn.run();
        long wall = System.nanoTime() - t0;
        java.util.List<OpProfile.Row> rows = new java.util.ArrayList<>(OpProfile.stop());
        long ops = rows.stream().mapToLong(OpProfile.Row::nanos).sum();
        rows.add(new OpProfile.Row("outside the ops (graph, module calls, GC)", calls, Math.max(0, wall - ops), 0));
        return OpProfile.format(rows, calls);
    }

    public static Map<String, Object> inference(String model, int batch, int size, int inChannels, double minSeconds) {
        Module m = Models.create(model, ModelConfig.defaults(Models.get(model).defaultClasses()).withInChannels(inChannels));
        m.eval();
        Tensor x = Tensor.randn(0, batch, inChannels, size, size);
        Inference inference = new Inference(m); // activation arrays reused from call to call, as a serving loop would
        double t = time(() -> inference.run(x), minSeconds, 2);
        return row(model + " inference", batch, size, batch / t);
    }

    /**
     * A dense model's eval forward on one random image of {@code h x w}, as the anchor's
     * {@code dense}: a segmenter with 21 classes and the auxiliary head computes both outputs, as
     * torchvision's does in eval mode when it has one.
     */
    public static Map<String, Object> segmentation(String model, int h, int w, double minSeconds) {
        SegmentationModel m = SegmentationModels.create(model, 21, true);
        m.eval();
        Tensor x = Tensor.randn(0, 1, 3, h, w);
        Inference inference = new Inference(m);
        double t = time(() -> inference.runAll(x), minSeconds, 1);
        Map<String, Object> r = row(model + " inference", 1, 0, 1 / t);
        r.put("size", List.of(h, w));
        return r;
    }

    /**
     * FCOS's eval forward on one random image of {@code h x w} (its transform resizes it, min side
     * 800 for fcos_resnet50_fpn), post-processing included, as the anchor's {@code dense} times
     * torchvision's model on a list of one image.
     */
    public static Map<String, Object> detection(String model, int h, int w, double minSeconds) {
        org.resnet4j.detection.Fcos m = org.resnet4j.detection.Fcos.create(model, 91, false);
        m.eval();
        Tensor x = Tensor.uniform(0, 0, 1, 3, h, w);
        double t = time(() -> m.detect(List.of(x)), minSeconds, 1);
        Map<String, Object> r = row(model + " inference", 1, 0, 1 / t);
        r.put("size", List.of(h, w));
        return r;
    }

    /** One SGD step (momentum 0.9, weight decay 5e-4, as the anchor) on random data with 10 classes. */
    public static Map<String, Object> training(String model, int batch, int size, int inChannels, double minSeconds) {
        Module m = Models.create(model, ModelConfig.defaults(10).withInChannels(inChannels));
        m.train();
        Tensor x = Tensor.randn(0, batch, inChannels, size, size);
        int[] y = new int[batch];
        for (int i = 0; i < batch; i++) y[i] = i % 10;
        SGD opt = new SGD(ParamGroups.of(m, false), 0.1, 0.9, 5e-4);
        CrossEntropyLoss loss = new CrossEntropyLoss();
        BufferPool buffers = new BufferPool(true); // as the Trainer: each step reuses the last one's buffers
        double t = time(() -> {
            opt.zeroGrad();
            try (var step = buffers.open()) {
                loss.apply(m.call(Variable.constant(x)), y).backward();
            }
            long s0 = OpProfile.now();
            opt.step();
            OpProfile.add("SGD step", 0, s0);
        }, minSeconds, 2);
        return row(model + " train step", batch, size, batch / t);
    }

    public static Map<String, Object> gemm(int n, double minSeconds) {
        float[] a = Tensor.randn(1, n, n).data(), b = Tensor.randn(2, n, n).data(), c = new float[n * n];
        double t = time(() -> Gemm.gemm(false, false, n, n, n, a, 0, n, b, 0, n, c, 0, n, false), minSeconds, 2);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("what", "sgemm");
        r.put("n", n);
        r.put("gflops", round(2.0 * n * n * n / t / 1e9));
        r.put("threads", Parallel.threads());
        r.putAll(Hardware.describe());
        return r;
    }

    /**
     * The FMA peak this JVM reaches at the kernels' vector width: independent FloatVector FMA
     * chains (enough to hide the FMA latency on two pipes), one per compute thread, no memory
     * traffic. Each chain is an accumulator, c = x * y + c, as in a GEMM micro-kernel: the earlier
     * form c = c * m + a with 10 chains and a long loop counter reached only 68-86 % of this at
     * 256 bits (AMD EPYC Zen 5 with -XX:UseAVX=2: 141-178 against 206 GFLOPS), and so reported a
     * peak below what the GEMM itself could reach.
     */
    public static Map<String, Object> peak(double minSeconds) {
        int threads = Parallel.threads();
        int iters = 200_000, calls = 100;
        // many short calls rather than one long loop, so C2 compiles fmaChains normally (not on-stack replacement)
        double t = time(() -> Parallel.forRange(threads, 1, (t0, t1) -> {
            for (int i = t0; i < t1; i++) for (int k = 0; k < calls; k++) sink(fmaChains(iters));
        }), minSeconds, 3);
        double flops = 2.0 * S.length() * CHAINS * iters * calls * threads;
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("what", "fma peak");
        r.put("threads", threads);
        r.put("gflops", round(flops / t / 1e9));
        r.putAll(Hardware.describe());
        return r;
    }

    private static final VectorSpecies<Float> S = Hardware.floatSpecies();
    /** Independent chains: 12 accumulators plus the two operands fit AVX2's 16 registers. */
    private static final int CHAINS = 12;
    private static volatile float sinkField;

    private static void sink(float v) {
        sinkField = v;
    }

    private static float fmaChains(int iters) {
        FloatVector x = FloatVector.broadcast(S, 0.999999f), y = FloatVector.broadcast(S, 1e-7f);
        FloatVector c0 = FloatVector.broadcast(S, 1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        FloatVector c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (int i = 0; i < iters; i++) {
            c0 = x.fma(y, c0); c1 = x.fma(y, c1); c2 = x.fma(y, c2); c3 = x.fma(y, c3); c4 = x.fma(y, c4); c5 = x.fma(y, c5);
            c6 = x.fma(y, c6); c7 = x.fma(y, c7); c8 = x.fma(y, c8); c9 = x.fma(y, c9); c10 = x.fma(y, c10); c11 = x.fma(y, c11);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11)
                .reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }

    private static Map<String, Object> row(String what, int batch, int size, double imgPerS) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("what", what);
        r.put("batch", batch);
        r.put("size", size);
        r.put("img_per_s", round(imgPerS));
        r.put("peak_rss_mb", peakRssMb());
        r.put("threads", Parallel.threads());
        r.putAll(Hardware.describe());
        return r;
    }

    /** Peak resident set of this process (VmHWM), as the anchor's ru_maxrss; -1 where /proc is absent. */
    public static long peakRssMb() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
            }
        } catch (Exception e) {
            // not Linux: no figure
        }
        return -1;
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }

}
