package org.resnet4j.autograd;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Wall time per op, for {@code bench --profile}: where a forward or a training step spends its
 * time, layer shape by layer shape (a convolution is keyed by kernel, stride, channels and input
 * size, so resnet50's 53 convolutions fold into its distinct shapes), with the GFLOPS of each
 * convolution next to the GEMM figure. Like torch.profiler's operator table
 * (https://pytorch.org/docs/1.13/profiler.html), without the tracing. Off by default: then each
 * op pays one volatile read.
 */
public final class OpProfile {
    private static volatile boolean on;
    private static final Map<String, long[]> STATS = new HashMap<>(); // key -> {calls, nanos, macs}

    private OpProfile() {}

    /** Starts collecting from zero. */
    public static synchronized void start() {
        STATS.clear();
        on = true;
    }

    /** Stops collecting and returns one row per key, the most expensive first. */
    public static synchronized List<Row> stop() {
        on = false;
        List<Row> rows = new ArrayList<>();
        STATS.forEach((k, v) -> rows.add(new Row(k, v[0], v[1], v[2])));
        rows.sort((a, b) -> Long.compare(b.nanos(), a.nanos()));
        return rows;
    }

    /** A start time when profiling, else 0 (then {@link #add} ignores it). */
    public static long now() {
        return on ? System.nanoTime() : 0;
    }

    /** Adds the time since {@code t0} (from {@link #now}) and {@code macs} multiply-adds to {@code key}. */
    public static void add(String key, long macs, long t0) {
        if (t0 == 0) return;
        long dt = System.nanoTime() - t0;
        synchronized (OpProfile.class) {
            long[] s = STATS.computeIfAbsent(key, k -> new long[3]);
            s[0]++;
            s[1] += dt;
            s[2] += macs;
        }
    }

    /** One op (or conv shape and phase): calls, total nanoseconds and multiply-adds. */
    public record Row(String op, long calls, long nanos, long macs) {
        public double gflops() {
            return macs == 0 ? 0 : 2.0 * macs / nanos;
        }
    }

    /** A text table: per iteration (the profile covered {@code iterations} calls), with shares. */
    public static String format(List<Row> rows, int iterations) {
        long total = rows.stream().mapToLong(Row::nanos).sum();
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%-44s %7s %9s %6s %8s%n", "op", "calls", "ms/iter", "share", "GFLOPS"));
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "%-44s %7.1f %9.2f %5.1f%% %8s%n", r.op(), (double) r.calls() / iterations,
                    r.nanos() / 1e6 / iterations, 100.0 * r.nanos() / total, r.macs() == 0 ? "" : String.format(Locale.ROOT, "%.1f", r.gflops())));
        }
        b.append(String.format(Locale.ROOT, "%-44s %7s %9.2f%n", "total (ops timed)", "", total / 1e6 / iterations));
        return b.toString();
    }
}
