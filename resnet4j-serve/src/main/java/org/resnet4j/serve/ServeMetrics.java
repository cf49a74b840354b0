package org.resnet4j.serve;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntSupplier;

/**
 * The server's counters in the Prometheus text exposition format (version 0.0.4): requests by
 * endpoint and status, a request latency histogram, a batch size histogram, inference time per
 * batch, and the queue depth of each model. Hand-written: a handful of counters do not need a
 * metrics library in a module whose only dependency is the core.
 */
final class ServeMetrics {
    private static final double[] LATENCY_BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    private static final double[] BATCH_BUCKETS = {1, 2, 4, 8, 16, 32, 64, 128};

    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
    private final Histogram latency = new Histogram(LATENCY_BUCKETS), batchSize = new Histogram(BATCH_BUCKETS),
            inferenceSeconds = new Histogram(LATENCY_BUCKETS);
    private final Map<String, IntSupplier> queues = new ConcurrentHashMap<>();

    void request(String endpoint, int status, double seconds) {
        requests.computeIfAbsent(endpoint + "\u0000" + status, k -> new LongAdder()).increment();
        latency.observe(seconds);
    }

    void batch(int images, double seconds) {
        batchSize.observe(images);
        inferenceSeconds.observe(seconds);
    }

    void queue(String model, IntSupplier depth) {
        queues.put(model, depth);
    }

    private final Map<String, LongAdder> batchFailures = new ConcurrentHashMap<>();
    private final Map<String, java.util.function.Supplier<Throwable>> workers = new ConcurrentHashMap<>();

    /** A forward pass that threw: counted by the throwable's class. */
    void batchFailed(Throwable t) {
        batchFailures.computeIfAbsent(t.getClass().getName(), k -> new LongAdder()).increment();
    }

    /** A model's batch worker: what stopped it, or null while it runs. */
    void worker(String model, java.util.function.Supplier<Throwable> failure) {
        workers.put(model, failure);
    }

    /**
     * Where an answered inference request's time went, from the handler's start: its body read,
     * decoded (JSON header and tensor, or image), queued until its forward pass began, the forward,
     * resumed (from the forward's end until the request's thread ran again), its answer built, and
     * written. Stamps with System.nanoTime, a few per request.
     */
    static final class Timeline {
        static final String[] STAGES = {"read", "decode", "queue", "forward", "resume", "answer", "write"};
        static final int READ = 0, DECODE = 1, QUEUE = 2, FORWARD = 3, RESUME = 4, ANSWER = 5, WRITE = 6;
        /** The handler's start, then the end of each stage in order; 0 where a stage did not happen. */
        final long[] at = new long[STAGES.length + 1];

        Timeline(long start) {
            at[0] = start;
        }

        void mark(int stage, long nanos) {
            at[stage + 1] = nanos;
        }
    }

    private final LongAdder[] stageNanos = new LongAdder[Timeline.STAGES.length];
    private final LongAdder stagedRequests = new LongAdder();

    {
        for (int i = 0; i < stageNanos.length; i++) stageNanos[i] = new LongAdder();
    }

    /** An answered request's stages, added to the sums (a request that skipped one counts 0 for it). */
    void stages(Timeline t) {
        long prev = t.at[0];
        for (int i = 0; i < stageNanos.length; i++) {
            long end = t.at[i + 1];
            if (end == 0) continue;
            stageNanos[i].add(end - prev);
            prev = end;
        }
        stagedRequests.increment();
    }

    private IntSupplier inFlight = () -> 0;
    private java.util.function.LongSupplier inFlightBytes = () -> 0;

    /** The admission gauges: inference requests in flight and the bytes they reserved. */
    void admission(IntSupplier requests, java.util.function.LongSupplier bytes) {
        this.inFlight = requests;
        this.inFlightBytes = bytes;
    }

    /** Forward passes run so far. */
    long batches() {
        return batchSize.count.sum();
    }

    String render() {
        StringBuilder sb = new StringBuilder();
        sb.append("# HELP resnet4j_requests_total HTTP requests by endpoint and status code.\n# TYPE resnet4j_requests_total counter\n");
        new TreeMap<>(requests).forEach((k, v) -> {
            String[] p = k.split("\u0000");
            sb.append("resnet4j_requests_total{endpoint=\"").append(p[0]).append("\",code=\"").append(p[1]).append("\"} ").append(v.sum()).append('\n');
        });
        latency.render(sb, "resnet4j_request_duration_seconds", "Time from request to response.");
        batchSize.render(sb, "resnet4j_batch_size", "Images per forward pass.");
        inferenceSeconds.render(sb, "resnet4j_batch_inference_seconds", "Time of one batched forward pass.");
        sb.append("# HELP resnet4j_request_stage_seconds_total Time answered inference requests spent in each stage, from the handler's start: "
                + "read (the body), decode, queue (until the forward began), forward, resume (until the request thread ran again), answer, write.\n"
                + "# TYPE resnet4j_request_stage_seconds_total counter\n");
        for (int i = 0; i < stageNanos.length; i++) {
            sb.append("resnet4j_request_stage_seconds_total{stage=\"").append(Timeline.STAGES[i]).append("\"} ")
                    .append(Histogram.fmt(stageNanos[i].sum() / 1e9)).append('\n');
        }
        sb.append("# HELP resnet4j_request_stage_requests_total Answered inference requests counted in the stage sums.\n"
                + "# TYPE resnet4j_request_stage_requests_total counter\nresnet4j_request_stage_requests_total ").append(stagedRequests.sum()).append('\n');
        sb.append("# HELP resnet4j_queue_depth Requests waiting for a batch.\n# TYPE resnet4j_queue_depth gauge\n");
        new TreeMap<>(queues).forEach((m, q) -> sb.append("resnet4j_queue_depth{model=\"").append(m).append("\"} ").append(q.getAsInt()).append('\n'));
        sb.append("# HELP resnet4j_inflight_requests Inference requests admitted and not yet answered.\n# TYPE resnet4j_inflight_requests gauge\n")
                .append("resnet4j_inflight_requests ").append(inFlight.getAsInt()).append('\n');
        sb.append("# HELP resnet4j_inflight_bytes Bytes reserved by the requests in flight (bodies, tensors, decoded pixels).\n"
                + "# TYPE resnet4j_inflight_bytes gauge\n").append("resnet4j_inflight_bytes ").append(inFlightBytes.getAsLong()).append('\n');
        sb.append("# HELP resnet4j_batch_failures_total Forward passes that threw, by error; their requests got 500.\n"
                + "# TYPE resnet4j_batch_failures_total counter\n");
        new TreeMap<>(batchFailures).forEach((e, n) -> sb.append("resnet4j_batch_failures_total{error=\"").append(e).append("\"} ").append(n.sum()).append('\n'));
        sb.append("# HELP resnet4j_worker_up Whether a model's batch worker runs (0: it died, and the server is not ready).\n"
                + "# TYPE resnet4j_worker_up gauge\n");
        new TreeMap<>(workers).forEach((m, f) -> {
            Throwable t = f.get();
            sb.append("resnet4j_worker_up{model=\"").append(m).append("\"");
            if (t != null) sb.append(",error=\"").append(label(String.valueOf(t))).append("\"");
            sb.append("} ").append(t == null ? 1 : 0).append('\n');
        });
        return sb.toString();
    }

    /** A Prometheus label value: backslash, quote and newline escaped. */
    private static String label(String v) {
        return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    /** A cumulative histogram: a counter per upper bound, a sum and a count. */
    private static final class Histogram {
        final double[] bounds;
        final LongAdder[] counts;
        final LongAdder count = new LongAdder();
        final DoubleAdder sum = new DoubleAdder();

        Histogram(double[] bounds) {
            this.bounds = bounds;
            this.counts = new LongAdder[bounds.length];
            for (int i = 0; i < bounds.length; i++) counts[i] = new LongAdder();
        }

        void observe(double v) {
            for (int i = 0; i < bounds.length; i++) if (v <= bounds[i]) counts[i].increment();
            count.increment();
            sum.add(v);
        }

        void render(StringBuilder sb, String name, String help) {
            sb.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" histogram\n");
            for (int i = 0; i < bounds.length; i++) {
                sb.append(name).append("_bucket{le=\"").append(fmt(bounds[i])).append("\"} ").append(counts[i].sum()).append('\n');
            }
            sb.append(name).append("_bucket{le=\"+Inf\"} ").append(count.sum()).append('\n');
            sb.append(name).append("_sum ").append(fmt(sum.sum())).append('\n');
            sb.append(name).append("_count ").append(count.sum()).append('\n');
        }

        private static String fmt(double v) {
            return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : String.format(Locale.ROOT, "%s", v);
        }
    }
}
