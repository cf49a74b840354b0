package org.resnet4j.serve;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.resnet4j.data.CorruptImageException;
import org.resnet4j.data.ImageDecoder;
import org.resnet4j.io.json.Json;
import org.resnet4j.io.json.JsonException;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.Predictor;

/**
 * resnet4j's HTTP inference server: the JDK's HTTP server, a thread per request ({@link RequestThreads}), and a
 * {@link Batcher} per model. Endpoints:
 * <ul>
 *   <li>the Open Inference Protocol (KServe v2, Triton's HTTP API): {@code GET /v2/health/live},
 *       {@code /v2/health/ready}, {@code /v2/models/{name}}, {@code /v2/models/{name}/ready},
 *       {@code POST /v2/models/{name}/infer} with FP32 tensors of shape [N, C, H, W], as JSON or in
 *       Triton's binary tensor data extension;</li>
 *   <li>{@code POST /v1/models/{name}/predict} with the bytes of a JPEG or PNG: the model's own
 *       preprocessing, then the top-k labels and probabilities ({@code ?top=k}, default 5);</li>
 *   <li>{@code GET /metrics}: Prometheus text;</li>
 *   <li>{@code GET /}: a web page to upload an image and see its classes; {@code GET /v1/models}
 *       lists the models for it.</li>
 * </ul>
 * Bad requests get a status and a JSON {@code {"error": ...}} naming what is wrong: 400 (an image
 * that does not decode, a tensor of the wrong shape or datatype, malformed JSON), 404 (unknown
 * model or path), 405, 413 (body over the limit), 415 (media type), 503 with Retry-After (queue
 * full, or shutting down), 504 (deadline passed in the queue).
 */
public final class InferenceServer implements AutoCloseable {
    /**
     * @param host address to bind (loopback unless told otherwise)
     * @param port port, 0 for any free one
     * @param maxBatch most images per forward pass
     * @param maxDelayMillis longest a request waits for others to batch with
     * @param queue images a model may hold at once, waiting or in its running batch; more are
     *     refused with 503 (so an accepted request waits for at most this many images' work)
     * @param maxBodyBytes largest request body; more is refused with 413
     * @param timeoutMillis a request's deadline from its arrival
     * @param maxRequestBatch most images one v2 request may carry: checked against the declared
     *     shape before anything is allocated for it (400 past it)
     * @param maxInFlight most inference requests being read, parsed, decoded, queued or run at
     *     once; more are refused with 503 before their body is read
     * @param maxInFlightBytes most bytes those requests may hold together (bodies, tensors,
     *     decoded pixels), reserved before each allocation: 503 past it, 413 for a request that
     *     alone needs more
     * @param maxPixels largest image (width x height) the image endpoint decodes, checked from its
     *     header (413 past it)
     */
    public record Options(String host, int port, int maxBatch, int maxDelayMillis, int queue, long maxBodyBytes, long timeoutMillis,
                          int maxRequestBatch, int maxInFlight, long maxInFlightBytes, long maxPixels) {
        /** Default bounds of admission: 128 requests, 512 MiB, 4096 x 4096 pixels. */
        public static final int DEFAULT_MAX_IN_FLIGHT = 128;
        public static final long DEFAULT_MAX_IN_FLIGHT_BYTES = 512L << 20, DEFAULT_MAX_PIXELS = 4096L * 4096;

        public Options {
            if (maxBatch < 1) throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
            if (maxRequestBatch < 1) throw new IllegalArgumentException("maxRequestBatch must be >= 1, got " + maxRequestBatch);
            if (maxInFlight < 1) throw new IllegalArgumentException("maxInFlight must be >= 1, got " + maxInFlight);
            if (maxInFlightBytes < 1) throw new IllegalArgumentException("maxInFlightBytes must be >= 1, got " + maxInFlightBytes);
            if (maxPixels < 1) throw new IllegalArgumentException("maxPixels must be >= 1, got " + maxPixels);
        }

        /** As below, with the default bounds of admission. */
        public Options(String host, int port, int maxBatch, int maxDelayMillis, int queue, long maxBodyBytes, long timeoutMillis,
                       int maxRequestBatch) {
            this(host, port, maxBatch, maxDelayMillis, queue, maxBodyBytes, timeoutMillis, maxRequestBatch,
                    DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_IN_FLIGHT_BYTES, DEFAULT_MAX_PIXELS);
        }

        /** As below, with requests of at most maxBatch images. */
        public Options(String host, int port, int maxBatch, int maxDelayMillis, int queue, long maxBodyBytes, long timeoutMillis) {
            this(host, port, maxBatch, maxDelayMillis, queue, maxBodyBytes, timeoutMillis, maxBatch);
        }

        /** 127.0.0.1:8080, batches of 16 within 5 ms, 64 images held per model, 16 MiB bodies, 30 s deadline, 16 images per request. */
        public static Options defaults() {
            return new Options("127.0.0.1", 8080, 16, 5, 64, 16L << 20, 30_000, 16);
        }

        public Options withPort(int p) {
            return new Options(host, p, maxBatch, maxDelayMillis, queue, maxBodyBytes, timeoutMillis, maxRequestBatch, maxInFlight, maxInFlightBytes, maxPixels);
        }

        public Options withHost(String h) {
            return new Options(h, port, maxBatch, maxDelayMillis, queue, maxBodyBytes, timeoutMillis, maxRequestBatch, maxInFlight, maxInFlightBytes, maxPixels);
        }

        public Options withBatching(int batch, int delayMillis, int queueCapacity) {
            return new Options(host, port, batch, delayMillis, queueCapacity, maxBodyBytes, timeoutMillis, maxRequestBatch, maxInFlight, maxInFlightBytes, maxPixels);
        }

        public Options withLimits(long bodyBytes, long timeout) {
            return new Options(host, port, maxBatch, maxDelayMillis, queue, bodyBytes, timeout, maxRequestBatch, maxInFlight, maxInFlightBytes, maxPixels);
        }

        /** At most {@code images} images per v2 request. */
        public Options withMaxRequestBatch(int images) {
            return new Options(host, port, maxBatch, maxDelayMillis, queue, maxBodyBytes, timeoutMillis, images, maxInFlight, maxInFlightBytes, maxPixels);
        }

        /** The bounds of admission: requests in flight, the bytes they hold, an image's pixels. */
        public Options withAdmission(int requests, long bytes, long pixels) {
            return new Options(host, port, maxBatch, maxDelayMillis, queue, maxBodyBytes, timeoutMillis, maxRequestBatch, requests, bytes, pixels);
        }
    }

    /**
     * A lone request (nothing else in its model, no company lately) runs its forward pass on its
     * own request thread instead of handing it to the batch worker and waiting to be woken with
     * the answer (system property resnet4j.serve.loneInline, default true).
     */
    static final boolean LONE_INLINE = Boolean.parseBoolean(System.getProperty("resnet4j.serve.loneInline", "true"));

    /**
     * Sets how long a client may take to send its request and to take its answer before it is
     * disconnected (default 30 s). JVM-wide, and only before the first server of this JVM starts.
     *
     * @throws IllegalStateException when a server already started with another value
     */
    public static void setClientTimeoutSeconds(int seconds) {
        JdkHttp.setClientTimeoutSeconds(seconds);
    }

    /** The web page at /: upload an image, see the top-5 classes. Served from the jar, nothing external. */
    private static final byte[] PAGE = page();

    private static byte[] page() {
        try (InputStream in = InferenceServer.class.getResourceAsStream("web/index.html")) {
            if (in == null) throw new IllegalStateException("web/index.html is missing from the resnet4j-serve jar");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private final HttpServer http;
    private final RequestThreads executor;
    private final Map<String, ServedModel> models = new LinkedHashMap<>();
    private final Map<String, Batcher> batchers = new LinkedHashMap<>();
    private final ServeMetrics metrics = new ServeMetrics();
    private final Options options;
    private final Admission admission;
    private volatile boolean ready;

    private InferenceServer(List<ServedModel> served, Options o) throws IOException {
        this.options = o;
        this.executor = new RequestThreads(o.maxInFlight());
        this.admission = new Admission(o.maxInFlight(), o.maxInFlightBytes());
        metrics.admission(admission::inFlight, admission::heldBytes);
        for (ServedModel m : served) {
            if (models.putIfAbsent(m.name(), m) != null) throw new IllegalArgumentException("two models named '" + m.name() + "'");
            Predictor p = m.predictor();
            Batcher b = new Batcher(p::logits, o.maxBatch(), o.maxDelayMillis(), o.queue(), metrics, m.name(), LONE_INLINE);
            batchers.put(m.name(), b);
            metrics.queue(m.name(), b::queued);
            metrics.worker(m.name(), b::failure);
        }
        http = JdkHttp.create(new InetSocketAddress(o.host(), o.port()), 128);
        http.setExecutor(executor);
        http.createContext("/", this::handle);
    }

    /**
     * Runs each model once (the JIT's first pass, so that the first client does not pay it), binds,
     * starts serving and returns once the server is ready.
     */
    public static InferenceServer start(List<ServedModel> models, Options options) throws IOException {
        if (models.isEmpty()) throw new IllegalArgumentException("no model to serve");
        for (ServedModel m : models) {
            int[] s = m.inputShape();
            m.predictor().logits(List.of(Tensor.zeros(s[0], s[1], s[2])));
        }
        InferenceServer s = new InferenceServer(models, options);
        s.http.start();
        s.ready = true;
        return s;
    }

    /** The bound port (useful with port 0). */
    public int port() {
        return http.getAddress().getPort();
    }

    /** Forward passes run so far, over all models. */
    public long batchesRun() {
        return metrics.batches();
    }

    /**
     * Graceful stop: readiness turns false, new inference requests get 503, every request already
     * queued is answered, then the listener closes.
     */
    @Override
    public void close() {
        ready = false;
        for (Batcher b : batchers.values()) b.close();
        http.stop(1);
        executor.close(10, TimeUnit.SECONDS);
    }

    // ------------------------------------------------------------------ routing

    private void handle(HttpExchange ex) throws IOException {
        long t0 = System.nanoTime();
        String path = ex.getRequestURI().getPath();
        String endpoint = "other";
        ServeMetrics.Timeline timeline = null;
        Reply reply;
        try {
            String[] p = Arrays.stream(path.split("/")).filter(s -> !s.isEmpty()).toArray(String[]::new);
            String method = ex.getRequestMethod();
            if (p.length == 0) {
                endpoint = "page";
                requireMethod(method, "GET");
                reply = new Reply(200, "text/html; charset=utf-8", PAGE, Map.of());
            } else if (p.length == 2 && p[0].equals("v1") && p[1].equals("models")) {
                endpoint = "models";
                requireMethod(method, "GET");
                List<Map<String, Object>> list = new ArrayList<>();
                for (ServedModel m : models.values()) {
                    Map<String, Object> e = new LinkedHashMap<>();
                    e.put("name", m.name());
                    e.put("classes", m.predictor().classes().size());
                    e.put("input", m.inputShape());
                    list.add(e);
                }
                reply = Reply.json(200, Map.of("models", list));
            } else if (p.length == 1 && p[0].equals("metrics")) {
                endpoint = "metrics";
                requireMethod(method, "GET");
                reply = new Reply(200, "text/plain; version=0.0.4", metrics.render().getBytes(StandardCharsets.UTF_8), Map.of());
            } else if (p.length == 3 && p[0].equals("v2") && p[1].equals("health")) {
                endpoint = "health";
                requireMethod(method, "GET");
                if (p[2].equals("live")) reply = Reply.json(200, Map.of("live", true));
                else if (p[2].equals("ready")) {
                    boolean r = ready && batchers.values().stream().allMatch(Batcher::healthy);
                    reply = Reply.json(r ? 200 : 503, Map.of("ready", r));
                }
                else throw new HttpError(404, "no such path: " + path);
            } else if (p.length >= 3 && p[0].equals("v2") && p[1].equals("models")) {
                ServedModel m = model(p[2]);
                if (p.length == 3) {
                    endpoint = "metadata";
                    requireMethod(method, "GET");
                    reply = Reply.json(200, V2Tensors.metadata(m));
                } else if (p.length == 4 && p[3].equals("ready")) {
                    endpoint = "model_ready";
                    requireMethod(method, "GET");
                    boolean r = ready && batchers.get(m.name()).healthy();
                    reply = Reply.json(r ? 200 : 503, Map.of("name", m.name(), "ready", r));
                } else if (p.length == 4 && p[3].equals("infer")) {
                    endpoint = "infer";
                    requireMethod(method, "POST");
                    try (Admission.Ticket ticket = admit()) {
                        timeline = new ServeMetrics.Timeline(t0);
                        reply = infer(m, ex, timeline, ticket);
                    }
                } else {
                    throw new HttpError(404, "no such path: " + path);
                }
            } else if (p.length == 4 && p[0].equals("v1") && p[1].equals("models") && p[3].equals("predict")) {
                endpoint = "predict";
                ServedModel m = model(p[2]);
                requireMethod(method, "POST");
                try (Admission.Ticket ticket = admit()) {
                    timeline = new ServeMetrics.Timeline(t0);
                    reply = predict(m, ex, timeline, ticket);
                }
            } else {
                throw new HttpError(404, "no such path: " + path);
            }
        } catch (HttpError e) {
            reply = new Reply(e.status, "application/json", Json.write(Map.of("error", e.getMessage())).getBytes(StandardCharsets.UTF_8), e.headers);
        } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
            // answered, never a silently closed connection: an Error here (a decoder's stack on a
            // crafted file, an allocation that failed) fails this request only
            reply = Reply.error(500, "internal error: " + e);
        } catch (IOException e) {
            // the client went away, or was disconnected for being slow (see MAX_REQ_TIME): nothing to answer
            metrics.request(endpoint, 408, (System.nanoTime() - t0) / 1e9);
            ex.close();
            return;
        }
        if (timeline != null) timeline.mark(ServeMetrics.Timeline.ANSWER, System.nanoTime());
        try {
            drain(ex); // whatever the handler did not read (a refused request), so the client reads the answer
            send(ex, reply);
        } finally {
            long t1 = System.nanoTime();
            metrics.request(endpoint, reply.status(), (t1 - t0) / 1e9);
            if (timeline != null && reply.status() == 200) {
                timeline.mark(ServeMetrics.Timeline.WRITE, t1);
                metrics.stages(timeline);
            }
        }
    }

    private static void requireMethod(String method, String allowed) throws HttpError {
        if (!method.equals(allowed)) throw new HttpError(405, method + " is not allowed here; use " + allowed, Map.of("Allow", allowed));
    }

    private ServedModel model(String name) throws HttpError {
        ServedModel m = models.get(name);
        if (m == null) throw new HttpError(404, "no model named '" + name + "'; served: " + models.keySet());
        return m;
    }

    private static void send(HttpExchange ex, Reply r) throws IOException {
        ex.getResponseHeaders().set("Content-Type", r.contentType());
        r.headers().forEach((k, v) -> ex.getResponseHeaders().set(k, v));
        ex.sendResponseHeaders(r.status(), r.body().length == 0 ? -1 : r.body().length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(r.body());
        } catch (IOException gone) {
            // the client left before its answer: nothing to do
        } finally {
            ex.close();
        }
    }

    // ------------------------------------------------------------------ endpoints

    /** Lets a request in, or refuses it (503) when {@link Options#maxInFlight} are in flight. */
    private Admission.Ticket admit() throws HttpError {
        Admission.Ticket t = admission.enter();
        if (t == null) {
            throw new HttpError(503, admission.maxRequests() + " requests are in flight, the most this server admits (--max-in-flight); retry shortly",
                    Map.of("Retry-After", "1"));
        }
        return t;
    }

    /** Reserves {@code bytes} for {@code what} before it is allocated: 413 if it can never fit, 503 if not now. */
    private void reserve(Admission.Ticket t, long bytes, String what) throws HttpError {
        Admission.Refusal r = t.reserve(bytes);
        if (r == Admission.Refusal.TOO_LARGE) {
            throw new HttpError(413, "this request needs " + (t.bytes() + bytes) + " bytes in flight (" + what + "), over the "
                    + admission.maxBytes() + " this server gives all requests together (--max-inflight-bytes)");
        }
        if (r == Admission.Refusal.BUSY) {
            throw new HttpError(503, "requests in flight hold " + admission.heldBytes() + " of the " + admission.maxBytes()
                    + " bytes this server gives them (--max-inflight-bytes); " + what + " needs " + bytes + " more; retry shortly",
                    Map.of("Retry-After", "1"));
        }
    }

    /** The body, its bytes reserved first (the declared Content-Length, or the body limit when none is declared). */
    private byte[] body(HttpExchange ex, Admission.Ticket ticket) throws HttpError, IOException {
        String length = ex.getRequestHeaders().getFirst("Content-Length");
        long declared = options.maxBodyBytes();
        if (length != null) {
            try {
                declared = Long.parseLong(length.trim());
            } catch (NumberFormatException e) {
                throw new HttpError(400, "bad Content-Length: " + length);
            }
            if (declared > options.maxBodyBytes()) {
                throw new HttpError(413, "body of " + length.trim() + " bytes is over the limit of " + options.maxBodyBytes());
            }
            if (declared < 0) throw new HttpError(400, "bad Content-Length: " + length);
        }
        reserve(ticket, declared, "its body");
        try (InputStream in = ex.getRequestBody()) {
            if (length == null) {
                // no declared length (a chunked body): read as it comes, cut off past the limit
                byte[] b = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, options.maxBodyBytes() + 1));
                if (b.length > options.maxBodyBytes()) {
                    throw new HttpError(413, "body is over the limit of " + options.maxBodyBytes() + " bytes");
                }
                return b;
            }
            // the declared length, checked against the limits and reserved above: one array of
            // that size, filled straight from the stream (no growing buffers, no final copy). The
            // JDK's stream ends at the declared length; bytes past it are the connection's next
            // request (a malformed one, answered 400 by the JDK), never this body.
            byte[] b = new byte[(int) declared];
            int n = in.readNBytes(b, 0, b.length);
            if (n < b.length) throw new HttpError(400, "the body ended after " + n + " of the " + declared + " bytes its Content-Length declares");
            return b;
        }
    }

    /**
     * Reads and drops what is left of a refused body, up to 64 MiB, so that the client (which is
     * still sending) reads the 413 instead of a reset connection; beyond that the connection closes.
     */
    private static void drain(HttpExchange ex) {
        try (InputStream in = ex.getRequestBody()) {
            byte[] sink = new byte[1 << 16];
            long left = 64L << 20;
            int n;
            while (left > 0 && (n = in.read(sink, 0, (int) Math.min(sink.length, left))) > 0) left -= n;
        } catch (IOException ignored) { // the client gave up: nothing to answer
        }
    }

    private String mediaType(HttpExchange ex) {
        String ct = ex.getRequestHeaders().getFirst("Content-Type");
        return ct == null ? "" : ct.split(";")[0].trim().toLowerCase(Locale.ROOT);
    }

    private Reply infer(ServedModel m, HttpExchange ex, ServeMetrics.Timeline timeline, Admission.Ticket ticket) throws HttpError, IOException {
        String type = mediaType(ex);
        String headerLength = ex.getRequestHeaders().getFirst(V2Tensors.HEADER_LENGTH);
        boolean binaryRequest = headerLength != null;
        if (binaryRequest ? !type.isEmpty() && !type.equals("application/octet-stream") : !type.isEmpty() && !type.equals("application/json")) {
            throw new HttpError(415, binaryRequest ? "infer with " + V2Tensors.HEADER_LENGTH + " takes application/octet-stream, got " + type
                    : "infer takes application/json (or application/octet-stream with " + V2Tensors.HEADER_LENGTH + "), got " + type);
        }
        refuseIfFull(m);
        byte[] body = body(ex, ticket);
        timeline.mark(ServeMetrics.Timeline.READ, System.nanoTime());
        int jsonLength = body.length;
        if (binaryRequest) {
            try {
                jsonLength = Integer.parseInt(headerLength.trim());
            } catch (NumberFormatException e) {
                jsonLength = -1;
            }
            if (jsonLength < 0 || jsonLength > body.length) {
                throw new HttpError(400, V2Tensors.HEADER_LENGTH + " must be a byte count within the body's " + body.length + " bytes, got '" + headerLength + "'");
            }
        }
        // the JSON as a String (at most 1 byte a character for ASCII; counted at 2 to be safe) and its
        // tree, whose numbers under "data" take 4 bytes each for at least 2 characters each
        reserve(ticket, 4L * jsonLength, "parsing its JSON");
        Object req;
        try {
            req = Json.parseWithFloatArrays(new String(body, 0, jsonLength, StandardCharsets.UTF_8), "data");
        } catch (JsonException e) {
            throw new HttpError(400, "request is not valid JSON: " + e.getMessage());
        }
        List<Tensor> images;
        boolean binaryOutput;
        try {
            images = V2Tensors.inputImages(req, body, jsonLength, m.inputShape(), options.maxRequestBatch(),
                    bytes -> reserve(ticket, bytes, "its tensor"));
            binaryOutput = V2Tensors.wantsBinaryOutput(req);
        } catch (IllegalArgumentException e) {
            throw new HttpError(400, e.getMessage());
        }
        String id = req instanceof Map<?, ?> r && r.get("id") instanceof String s ? s : null;
        timeline.mark(ServeMetrics.Timeline.DECODE, System.nanoTime());
        float[][] out = run(m, images, timeline);
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("model_name", m.name());
        o.put("model_version", "1");
        if (id != null) o.put("id", id);
        if (!binaryOutput) {
            o.put("outputs", List.of(V2Tensors.output("output", out)));
            return Reply.json(200, o);
        }
        o.put("outputs", List.of(V2Tensors.binaryOutput("output", out)));
        byte[] json = Json.write(o).getBytes(StandardCharsets.UTF_8);
        byte[] tensor = V2Tensors.binary(out);
        byte[] all = Arrays.copyOf(json, json.length + tensor.length);
        System.arraycopy(tensor, 0, all, json.length, tensor.length);
        return new Reply(200, "application/octet-stream", all, Map.of(V2Tensors.HEADER_LENGTH, Integer.toString(json.length)));
    }

    /**
     * Bytes a decoded image may hold per pixel on its way to the network: the decoder's raster (up
     * to 8 for 16-bit RGBA), the float RGB planes (12), and a resize's intermediate planes (12).
     */
    static final int BYTES_PER_DECODED_PIXEL = 32;

    private Reply predict(ServedModel m, HttpExchange ex, ServeMetrics.Timeline timeline, Admission.Ticket ticket) throws HttpError, IOException {
        String type = mediaType(ex);
        if (!type.equals("image/jpeg") && !type.equals("image/png") && !type.equals("application/octet-stream")) {
            throw new HttpError(415, "predict takes image/jpeg or image/png bytes, got " + (type.isEmpty() ? "no Content-Type" : type));
        }
        int top = 5;
        String q = ex.getRequestURI().getQuery();
        if (q != null) {
            for (String kv : q.split("&")) {
                if (kv.startsWith("top=")) {
                    try {
                        top = Integer.parseInt(kv.substring(4));
                    } catch (NumberFormatException e) {
                        top = -1;
                    }
                    if (top < 1) throw new HttpError(400, "top must be a positive integer, got '" + kv.substring(4) + "'");
                }
            }
        }
        refuseIfFull(m);
        byte[] bytes = body(ex, ticket);
        timeline.mark(ServeMetrics.Timeline.READ, System.nanoTime());
        Tensor img;
        try {
            ImageDecoder.Header h = ImageDecoder.header(bytes, "upload");
            if (h.pixels() > options.maxPixels()) {
                throw new HttpError(413, String.format(Locale.ROOT, "the %s upload declares %dx%d = %,d pixels, over this server's limit of %,d (--max-pixels)",
                        h.format(), h.width(), h.height(), h.pixels(), options.maxPixels()));
            }
            reserve(ticket, BYTES_PER_DECODED_PIXEL * h.pixels(), "decoding its " + h.width() + "x" + h.height() + " image");
            img = ImageDecoder.decode(bytes, "upload", options.maxPixels());
        } catch (CorruptImageException e) {
            throw new HttpError(400, e.getMessage());
        }
        Predictor p = m.predictor();
        Tensor x = p.preprocess(img.dim(0) == p.channels() ? img : ImageDecoder.toChannels(img, p.channels()));
        timeline.mark(ServeMetrics.Timeline.DECODE, System.nanoTime());
        float[][] out = run(m, List.of(x), timeline);
        List<Map<String, Object>> ranked = new ArrayList<>();
        for (Predictor.Scored s : p.rank(out[0], top)) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("label", s.label());
            r.put("index", s.index());
            r.put("probability", s.probability());
            ranked.add(r);
        }
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("model_name", m.name());
        o.put("top", ranked);
        o.put("milliseconds", Math.round((System.nanoTime() - timeline.at[0]) / 1e4) / 100.0);
        return Reply.json(200, o);
    }

    /**
     * 503 before the body is read and decoded when the model already holds {@code --queue} images:
     * under overload most requests are refused, and reading, copying and decoding each refused
     * body took the cores from the forward passes of the accepted ones. (The batcher checks again,
     * for the request's own images, when it is submitted.)
     */
    private void refuseIfFull(ServedModel m) throws HttpError {
        if (batchers.get(m.name()).full()) throw full(m);
    }

    private HttpError full(ServedModel m) {
        return new HttpError(503, "the queue of '" + m.name() + "' is full: it holds " + options.queue() + " images, waiting or running (--queue); retry shortly", Map.of("Retry-After", "1"));
    }

    /** Through the model's batcher, within the request's deadline. */
    private float[][] run(ServedModel m, List<Tensor> images, ServeMetrics.Timeline timeline) throws HttpError {
        if (!ready) throw new HttpError(503, "shutting down", Map.of("Retry-After", "1"));
        long deadline = timeline.at[0] + TimeUnit.MILLISECONDS.toNanos(options.timeoutMillis());
        Batcher batcher = batchers.get(m.name());
        Batcher.Job job = batcher.submit(images, deadline);
        if (job == null && batcher.failure() != null) {
            throw new HttpError(503, "the batch worker of '" + m.name() + "' stopped: " + batcher.failure(), Map.of("Retry-After", "1"));
        }
        if (job == null && !ready) throw new HttpError(503, "shutting down", Map.of("Retry-After", "1"));
        if (job == null) throw full(m);
        try {
            float[][] out = job.result.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            timeline.mark(ServeMetrics.Timeline.QUEUE, job.startedNanos);
            timeline.mark(ServeMetrics.Timeline.FORWARD, job.finishedNanos);
            timeline.mark(ServeMetrics.Timeline.RESUME, System.nanoTime());
            return out;
        } catch (TimeoutException e) {
            job.result.cancel(false);
            throw new HttpError(504, "no answer within " + options.timeoutMillis() + " ms");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Batcher.DeadlineException d) throw new HttpError(504, d.getMessage());
            throw new HttpError(500, "inference failed: " + e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HttpError(503, "interrupted");
        }
    }
}
