package org.resnet4j.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.imageio.ImageIO;
import org.resnet4j.data.ImageDecoder;
import org.resnet4j.io.json.Json;
import org.resnet4j.kernels.Parallel;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Module;
import org.resnet4j.serve.InferenceServer;
import org.resnet4j.serve.ServedModel;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.Predictor;

/**
 * The serving benchmark: the real server on a loopback port and closed-loop clients in this
 * process (each sends one image, waits for the answer, sends the next), beside the offline
 * figures of {@code resnet4j bench} for the same model in the same run. Then an open-loop overload
 * at twice the rate the server sustained, and optionally a soak that watches the resident set.
 * Bounded in time and requests; it only ever talks to 127.0.0.1.
 */
public final class ServeLoad {
    /**
     * @param wire how a client sends its image: "binary" (the Open Inference Protocol with Triton's
     *     binary tensor extension), "json" (the protocol's JSON tensors) or "jpeg" (the image
     *     endpoint, which decodes and preprocesses on the server)
     */
    public record Settings(String model, List<Integer> clients, double seconds, int maxBatch, int maxDelayMillis, int queue,
                           String wire, double overloadSeconds, double soakMinutes, int rounds, String client) {
        /** As above, with the plain-socket client. */
        public Settings(String model, List<Integer> clients, double seconds, int maxBatch, int maxDelayMillis, int queue,
                        String wire, double overloadSeconds, double soakMinutes, int rounds) {
            this(model, clients, seconds, maxBatch, maxDelayMillis, queue, wire, overloadSeconds, soakMinutes, rounds, "socket");
        }
    }

    private ServeLoad() {}

    /** Runs everything and hands each result row to {@code out} as it is measured. */
    public static void run(Settings s, Consumer<Map<String, Object>> out) throws Exception {
        int size = Models.get(s.model()).defaultSize();
        int classes = Models.get(s.model()).defaultClasses();
        Module net = Models.create(s.model(), ModelConfig.defaults(classes));
        net.eval();
        // ImageNet-size models get torchvision's eval preprocessing, CIFAR-size ones a resize and CIFAR-10's normalization
        Predictor predictor = size == 224 ? Predictor.imagenet(net, s.maxBatch())
                : new Predictor(net, org.resnet4j.train.DataSources.predictTransform("cifar10", 3, size),
                        java.util.stream.IntStream.range(0, classes).mapToObj(Integer::toString).toList(), 3, s.maxBatch());
        InferenceServer.Options o = new InferenceServer.Options("127.0.0.1", 0, s.maxBatch(), s.maxDelayMillis(), s.queue(), 64L << 20, 60_000);
        List<Map<String, Object>> served = new ArrayList<>(), offline = new ArrayList<>();
        try (InferenceServer server = InferenceServer.start(List.of(new ServedModel(s.model(), predictor, new int[] {3, size, size})), o)) {
            Load load = new Load(server.port(), s.model(), s.wire(), size, s.client());
            for (int round = 0; round < s.rounds(); round++) {
                // alternate: the offline figures, then the served ones, each round
                for (int batch : List.of(1, s.maxBatch())) {
                    Map<String, Object> r = Benchmarks.inference(s.model(), batch, size, 3, Math.max(3, s.seconds() / 3));
                    r.put("round", round + 1);
                    offline.add(r);
                    out.accept(r);
                }
                Map<String, Object> bare = bareForward(predictor, size, s.seconds() / 2);
                bare.put("round", round + 1);
                offline.add(bare);
                out.accept(bare);
                if (s.clients().contains(1)) {
                    Map<String, Object> pairs = paired(predictor, load, size, s.seconds());
                    pairs.put("round", round + 1);
                    offline.add(pairs);
                    out.accept(pairs);
                }
                for (int c : s.clients()) {
                    Map<String, Object> r = load.closedLoop(c, s.seconds());
                    r.put("round", round + 1);
                    served.add(r);
                    out.accept(r);
                }
            }
            Map<String, Object> summary = summary(s, offline, served);
            out.accept(summary);
            if (s.overloadSeconds() > 0) {
                double rate = 2 * (double) summary.get("sustained_req_per_s");
                Map<String, Object> r = load.openLoop(rate, s.overloadSeconds());
                r.put("closed_loop_p99_ms_at_" + s.clients().getLast() + "_clients", medianOf(served, s.clients().getLast(), "p99_ms"));
                out.accept(r);
            }
            if (s.soakMinutes() > 0) out.accept(load.soak(s.clients().contains(16) ? 16 : s.clients().getLast(), s.soakMinutes()));
        }
    }

    /**
     * The served predictor called directly, one image at a time, while the server is idle: the
     * latency that HTTP, queueing and batching add to at one client is measured against this.
     */
    private static Map<String, Object> bareForward(Predictor p, int size, double seconds) {
        List<Tensor> x = List.of(Tensor.uniform(7, 0, 1, 3, size, size));
        List<Double> ms = new ArrayList<>();
        long end = System.nanoTime() + (long) (seconds * 1e9);
        while (System.nanoTime() < end || ms.size() < 3) {
            long t0 = System.nanoTime();
            p.logits(x);
            ms.add((System.nanoTime() - t0) / 1e6);
        }
        double[] sorted = ms.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("what", "bare forward");
        r.put("batch", 1);
        r.put("p50_ms", round(percentile(sorted, 50)));
        r.put("p99_ms", round(percentile(sorted, 99)));
        r.put("calls", sorted.length);
        return r;
    }

    /**
     * What the server adds at one client, measured in pairs: a bare forward and the same image
     * served, over and over, and the median of the differences. Drift in the forward's own speed
     * (on a shared machine a resnet50 forward's p50 moves by several ms between minutes, more than
     * the path costs) falls on both halves of a pair alike, where two p50s measured a minute apart
     * carry it whole. Each bare forward ends as a batch in the server does ({@link Parallel#rest}),
     * so neither half starts beside spinning compute workers.
     */
    private static Map<String, Object> paired(Predictor p, Load load, int size, double seconds) {
        List<Tensor> x = List.of(Tensor.uniform(7, 0, 1, 3, size, size));
        List<Double> added = new ArrayList<>();
        int failed = 0;
        long end = System.nanoTime() + (long) (seconds * 1e9);
        for (int i = 0; System.nanoTime() < end || added.size() < 3; i++) {
            // every other pair the other way round (served, then bare), so that what the first
            // of two forwards pays or gains (a clock rising, caches) falls on both sides
            Load.Sample served = i % 2 == 1 ? load.send() : null;
            long t0 = System.nanoTime();
            p.logits(x);
            Parallel.rest();
            double bare = (System.nanoTime() - t0) / 1e6;
            if (served == null) served = load.send();
            if (served.status() != 200) {
                if (++failed > 10) throw new IllegalStateException("the server answered " + served.status() + " to a lone request");
                continue;
            }
            added.add(served.millis() - bare);
        }
        double[] sorted = added.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("what", "served minus bare forward, paired");
        r.put("pairs", sorted.length);
        r.put("p25_added_ms", round(percentile(sorted, 25)));
        r.put("p50_added_ms", round(percentile(sorted, 50)));
        r.put("p75_added_ms", round(percentile(sorted, 75)));
        return r;
    }

    /** Medians over rounds, and the serving targets' ratios: served / offline throughput, added latency at one client. */
    private static Map<String, Object> summary(Settings s, List<Map<String, Object>> offline, List<Map<String, Object>> served) {
        List<Map<String, Object>> bench = offline.stream().filter(r -> r.containsKey("img_per_s")).toList();
        double single = median(bench.stream().filter(r -> (int) r.get("batch") == 1).mapToDouble(r -> (double) r.get("img_per_s")).toArray());
        double batched = median(bench.stream().filter(r -> (int) r.get("batch") == s.maxBatch()).mapToDouble(r -> (double) r.get("img_per_s")).toArray());
        double bareP50 = median(offline.stream().filter(r -> r.get("what").equals("bare forward")).mapToDouble(r -> (double) r.get("p50_ms")).toArray());
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("what", s.model() + " serve summary");
        r.put("wire", s.wire());
        r.put("rounds", s.rounds());
        r.put("offline_img_per_s_batch_1", single);
        r.put("offline_img_per_s_batch_" + s.maxBatch(), batched);
        r.put("bare_forward_p50_ms", bareP50);
        double sustained = 0;
        for (int c : s.clients()) {
            double t = medianOf(served, c, "req_per_s");
            sustained = Math.max(sustained, t);
            r.put("served_vs_offline_at_" + c + "_clients", round(t / batched));
        }
        if (s.clients().contains(1)) {
            r.put("added_ms_at_1_client", round(medianOf(served, 1, "p50_ms") - bareP50));
            r.put("added_ms_at_1_client_paired", median(offline.stream().filter(x -> x.containsKey("p50_added_ms"))
                    .mapToDouble(x -> (double) x.get("p50_added_ms")).toArray()));
        }
        r.put("sustained_req_per_s", sustained);
        r.put("threads", Parallel.threads());
        return r;
    }

    private static double medianOf(List<Map<String, Object>> rows, int clients, String key) {
        return median(rows.stream().filter(r -> (int) r.get("clients") == clients).mapToDouble(r -> (double) r.get(key)).toArray());
    }

    /** The HTTP side: one request body, sent by closed-loop clients, at an open-loop rate, or for a soak. */
    private static final class Load {
        final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .executor(Executors.newVirtualThreadPerTaskExecutor()).connectTimeout(Duration.ofSeconds(10)).build();
        final HttpRequest request;
        final URI metrics;
        final String wire;
        /** The same request for the plain-socket client, or null when the JDK's HttpClient sends. */
        final LoopbackClient socket;

        Load(int port, String model, String wire, int size, String client) throws IOException {
            this.wire = wire;
            URI base = URI.create("http://127.0.0.1:" + port);
            metrics = base.resolve("/metrics");
            Tensor image = Tensor.uniform(7, 0, 1, 3, size, size);
            String path, type;
            byte[] bytes;
            Map<String, String> headers = new LinkedHashMap<>();
            switch (wire) {
                case "binary" -> {
                    byte[] header = ("{\"inputs\":[{\"name\":\"input\",\"shape\":[1,3," + size + "," + size + "],\"datatype\":\"FP32\","
                            + "\"parameters\":{\"binary_data_size\":" + image.size() * 4 + "}}],"
                            + "\"outputs\":[{\"name\":\"output\",\"parameters\":{\"binary_data\":true}}]}").getBytes(StandardCharsets.UTF_8);
                    ByteBuffer body = ByteBuffer.allocate(header.length + image.size() * 4).order(ByteOrder.LITTLE_ENDIAN);
                    body.put(header);
                    for (float v : image.data()) body.putFloat(v);
                    path = "/v2/models/" + model + "/infer";
                    type = "application/octet-stream";
                    headers.put("Inference-Header-Content-Length", Integer.toString(header.length));
                    bytes = body.array();
                }
                case "json" -> {
                    path = "/v2/models/" + model + "/infer";
                    type = "application/json";
                    bytes = Json.write(Map.of("inputs", List.of(Map.of("name", "input", "datatype", "FP32",
                            "shape", List.of(1, 3, size, size), "data", image.data())))).getBytes(StandardCharsets.UTF_8);
                }
                case "jpeg" -> {
                    // a photo-sized upload (256 px, as torchvision's eval resize makes), decoded and preprocessed by the server
                    ByteArrayOutputStream jpeg = new ByteArrayOutputStream();
                    ImageIO.write(ImageDecoder.toImage(Tensor.uniform(7, 0, 1, 3, 256, 256), 1), "jpeg", jpeg);
                    path = "/v1/models/" + model + "/predict";
                    type = "image/jpeg";
                    bytes = jpeg.toByteArray();
                }
                default -> throw new IllegalArgumentException("--wire must be binary, json or jpeg, got '" + wire + "'");
            }
            headers.put("Content-Type", type);
            HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(120))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(bytes));
            headers.forEach(b::header);
            request = b.build();
            socket = switch (client) {
                case "socket" -> new LoopbackClient(port, path, headers, bytes);
                case "jdk" -> null;
                default -> throw new IllegalArgumentException("--client must be socket or jdk, got '" + client + "'");
            };
        }

        /** The server's batch counters from /metrics: forward passes, images, seconds in the forward. */
        double[] batchCounters() throws IOException, InterruptedException {
            String text = http.send(HttpRequest.newBuilder(metrics).build(), HttpResponse.BodyHandlers.ofString()).body();
            double[] c = new double[4 + STAGES.length];
            for (String line : text.split("\n")) {
                if (line.startsWith("resnet4j_request_stage_requests_total ")) c[3] = Double.parseDouble(line.substring(line.indexOf(' ') + 1));
                for (int i = 0; i < STAGES.length; i++) {
                    if (line.startsWith("resnet4j_request_stage_seconds_total{stage=\"" + STAGES[i] + "\"} ")) {
                        c[4 + i] = Double.parseDouble(line.substring(line.indexOf("} ") + 2));
                    }
                }
                if (line.startsWith("resnet4j_batch_size_count ")) c[0] = Double.parseDouble(line.substring(line.indexOf(' ') + 1));
                if (line.startsWith("resnet4j_batch_size_sum ")) c[1] = Double.parseDouble(line.substring(line.indexOf(' ') + 1));
                if (line.startsWith("resnet4j_batch_inference_seconds_sum ")) c[2] = Double.parseDouble(line.substring(line.indexOf(' ') + 1));
            }
            return c;
        }

        /** Mean images per forward pass and mean milliseconds per forward pass between two readings of the counters. */
        static void batches(Map<String, Object> r, double[] before, double[] after) {
            double n = after[0] - before[0];
            if (n <= 0) return;
            r.put("mean_batch", round((after[1] - before[1]) / n));
            r.put("mean_forward_ms", round(1000 * (after[2] - before[2]) / n));
            double answered = after[3] - before[3];
            if (answered <= 0) return;
            // where a request's time went inside the server (means, ms), and what is left of the
            // client's mean latency outside it: the client's send and receive, the kernel's loopback,
            // and the server's accept, request-line and header parsing before the handler starts
            Map<String, Object> split = new LinkedHashMap<>();
            double inside = 0;
            for (int i = 0; i < STAGES.length; i++) {
                double ms = 1000 * (after[4 + i] - before[4 + i]) / answered;
                split.put(STAGES[i], round(ms));
                inside += ms;
            }
            split.put("server", round(inside));
            if (r.get("mean_ms") instanceof Double mean) split.put("outside_server", round(mean - inside));
            r.put("split_ms", split);
        }

        static final String[] STAGES = {"read", "decode", "queue", "forward", "resume", "answer", "write"};

        /** One request: its status (-1: no answer) and its latency. */
        record Sample(long startNanos, int status, double millis) {}

        Sample send() {
            long t0 = System.nanoTime();
            int status;
            try {
                status = socket != null ? socket.send() : http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
            } catch (IOException e) {
                status = -1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                status = -1;
            }
            return new Sample(t0, status, (System.nanoTime() - t0) / 1e6);
        }

        /**
         * {@code clients} clients back to back for 1.2 x {@code seconds}; the answers completed in the
         * last {@code seconds} count (the first part is warm-up: batches and connections settle).
         */
        Map<String, Object> closedLoop(int clients, double seconds) throws InterruptedException, IOException {
            double[] before = batchCounters();
            CpuSplit cpu = new CpuSplit();
            long start = System.nanoTime(), warm = start + (long) (seconds * 0.2e9), end = start + (long) (seconds * 1.2e9);
            ConcurrentLinkedQueue<Sample> samples = new ConcurrentLinkedQueue<>();
            // a platform thread per client: a virtual one would wait for each answer through the
            // JDK's poller thread, a hand-off counted in the latency this reports
            try (ExecutorService pool = Executors.newThreadPerTaskExecutor(Thread.ofPlatform().name("load-client-", 0).factory())) {
                for (int c = 0; c < clients; c++) {
                    pool.submit(() -> {
                        while (System.nanoTime() < end) {
                            Sample x = send();
                            long done = x.startNanos() + (long) (x.millis() * 1e6);
                            if (done >= warm && done <= end) samples.add(x); // answers completed in the window
                        }
                        cpu.clientEnded(); // its CPU time, before the thread (and the time) is gone
                    });
                }
            }
            double window = (end - warm) / 1e9;
            Map<String, Object> r = row("closed loop");
            r.put("clients", clients);
            describe(r, samples, window);
            batches(r, before, batchCounters());
            r.put("cores_busy", cpu.coresBusy());
            return r;
        }

        /** Requests at {@code rate} per second whatever the answers, for {@code seconds}. */
        Map<String, Object> openLoop(double rate, double seconds) throws InterruptedException {
            ConcurrentLinkedQueue<Sample> samples = new ConcurrentLinkedQueue<>();
            long start = System.nanoTime();
            int n = (int) Math.ceil(rate * seconds);
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < n; i++) {
                    long at = start + (long) (i / rate * 1e9);
                    long wait = at - System.nanoTime();
                    if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
                    pool.submit(() -> samples.add(send()));
                }
            }
            Map<String, Object> r = row("open loop overload");
            r.put("offered_req_per_s", round(rate));
            r.put("requests", n);
            describe(r, samples, seconds);
            double[] refused = samples.stream().filter(x -> x.status() == 503).mapToDouble(Sample::millis).sorted().toArray();
            r.put("status_503", refused.length);
            if (refused.length > 0) {
                r.put("p50_ms_503", round(percentile(refused, 50)));
                r.put("p99_ms_503", round(percentile(refused, 99)));
            }
            r.put("other_errors", samples.stream().filter(x -> x.status() != 200 && x.status() != 503).count());
            return r;
        }

        /** {@code clients} clients for {@code minutes}, the resident set sampled every 10 s; compared with its value after the first minute. */
        Map<String, Object> soak(int clients, double minutes) throws InterruptedException {
            long end = System.nanoTime() + (long) (minutes * 60e9);
            ConcurrentLinkedQueue<Sample> samples = new ConcurrentLinkedQueue<>();
            List<Long> rss = new ArrayList<>();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int c = 0; c < clients; c++) {
                    pool.submit(() -> {
                        while (System.nanoTime() < end) samples.add(send());
                    });
                }
                while (System.nanoTime() < end) {
                    Thread.sleep(10_000);
                    rss.add(rssMb());
                }
            }
            int afterWarmup = Math.min(rss.size() - 1, 5); // the sample at 60 s
            long base = rss.get(afterWarmup), last = rss.getLast();
            long max = rss.subList(afterWarmup, rss.size()).stream().mapToLong(Long::longValue).max().orElse(base);
            Map<String, Object> r = row("soak");
            r.put("clients", clients);
            r.put("minutes", minutes);
            describe(r, samples, minutes * 60);
            r.put("rss_mb_after_1_min", base);
            r.put("rss_mb_max_after", max);
            r.put("rss_mb_end", last);
            r.put("rss_growth_pct", round(100.0 * (max - base) / base));
            r.put("rss_mb_every_10_s", rss);
            return r;
        }

        private Map<String, Object> row(String what) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("what", "serve " + what);
            r.put("wire", wire);
            return r;
        }

        private static void describe(Map<String, Object> r, ConcurrentLinkedQueue<Sample> samples, double seconds) {
            double[] ok = samples.stream().filter(x -> x.status() == 200).mapToDouble(Sample::millis).sorted().toArray();
            r.put("req_per_s", round(ok.length / seconds));
            if (ok.length > 0) {
                r.put("mean_ms", round(Arrays.stream(ok).average().orElse(0)));
                r.put("p50_ms", round(percentile(ok, 50)));
                r.put("p99_ms", round(percentile(ok, 99)));
            }
            r.put("answered", ok.length);
            r.put("errors", samples.stream().filter(x -> x.status() != 200).count());
        }
    }

    /**
     * Where this process's CPU went during a figure, in cores busy on average: the forward passes
     * (compute workers and batchers), the server's HTTP threads (request threads, the JDK's
     * dispatcher), the clients (their threads; java.net.http's selector thread and the carriers of
     * its virtual threads), and the rest (GC, JIT, the JVM's own threads). On a 2-core machine
     * what the clients take is what the server could not use.
     */
    static final class CpuSplit {
        private final java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        private final Map<Long, Long> start = times();
        private final long processStart = processCpu(), wallStart = System.nanoTime();
        private final java.util.concurrent.atomic.LongAdder endedClients = new java.util.concurrent.atomic.LongAdder();

        /** Called by a client thread as it ends. */
        void clientEnded() {
            endedClients.add(threads.getCurrentThreadCpuTime());
        }

        private Map<Long, Long> times() {
            Map<Long, Long> m = new java.util.HashMap<>();
            for (Thread t : Thread.getAllStackTraces().keySet()) m.put(t.threadId(), threads.getThreadCpuTime(t.threadId()));
            return m;
        }

        private static long processCpu() {
            return java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                    ? os.getProcessCpuTime() : -1;
        }

        Map<String, Object> coresBusy() {
            double wall = System.nanoTime() - wallStart;
            double compute = 0, server = 0, clients = endedClients.sum();
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                long now = threads.getThreadCpuTime(t.threadId());
                if (now < 0) continue;
                double d = now - start.getOrDefault(t.threadId(), 0L);
                String n = t.getName();
                if (n.startsWith("resnet4j-compute-") || n.startsWith("resnet4j-batcher-")) compute += d;
                else if (n.startsWith("resnet4j-http-") || n.startsWith("HTTP-Dispatcher") || n.equals("server-timer")) server += d;
                else if (n.startsWith("load-client-") || n.startsWith("ForkJoinPool-") || n.startsWith("HttpClient-")) clients += d;
            }
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("compute", round(compute / wall));
            r.put("server_http", round(server / wall));
            r.put("clients", round(clients / wall));
            long process = processCpu();
            if (process >= 0) {
                r.put("other", round(Math.max(0, process - processStart - compute - server - clients) / wall));
                r.put("process", round((process - processStart) / wall));
            }
            return r;
        }
    }

    /** Resident set of this process (VmRSS), MB; -1 where /proc is absent. */
    static long rssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
            }
        } catch (IOException e) {
            // not Linux: no figure
        }
        return -1;
    }

    /** Nearest-rank percentile of sorted values (at least one). */
    static double percentile(double[] sorted, double p) {
        int i = (int) Math.ceil(p / 100 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    static double median(double[] v) {
        if (v.length == 0) return Double.NaN;
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
