package org.resnet4j.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.resnet4j.autograd.Variable;
import org.resnet4j.data.Normalize;
import org.resnet4j.data.SyntheticShapes;
import org.resnet4j.io.json.Json;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.Predictor;

/** The real server on a free loopback port, driven over HTTP: every endpoint and error status, batching, the queue bound, shutdown. */
class InferenceServerTest {
    static final Normalize NORM = new Normalize(new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.5f, 0.5f});
    final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    final List<InferenceServer> servers = new ArrayList<>();

    @AfterEach
    void stop() {
        servers.forEach(InferenceServer::close);
    }

    private InferenceServer serve(Module model, InferenceServer.Options o) throws Exception {
        Predictor p = new Predictor(model, NORM, SyntheticShapes.CLASSES, 3, 16);
        InferenceServer s = InferenceServer.start(List.of(new ServedModel("shapes", p, new int[] {3, 32, 32})), o.withPort(0));
        servers.add(s);
        return s;
    }

    private static Module resnet8() {
        Init.manualSeed(4);
        return Models.create("resnet8", ModelConfig.defaults(6));
    }

    private HttpResponse<String> get(InferenceServer s, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(InferenceServer s, String path, String type, byte[] body) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", type).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String inferBody(List<Tensor> images) {
        List<Float> data = new ArrayList<>();
        for (Tensor t : images) for (float v : t.data()) data.add(v);
        return Json.write(Map.of("id", "r1", "inputs", List.of(Map.of("name", "input", "datatype", "FP32",
                "shape", List.of(images.size(), 3, 32, 32), "data", data))));
    }

    private static float[] floats(Object list) {
        List<?> l = (List<?>) list;
        float[] f = new float[l.size()];
        for (int i = 0; i < f.length; i++) f[i] = ((Number) l.get(i)).floatValue();
        return f;
    }

    private static List<Tensor> images(int n, long seed) {
        List<Tensor> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(Tensor.uniform(seed + i, -1, 1, 3, 32, 32));
        return out;
    }

    @Test
    void healthMetadataAndErrorsOfTheOpenInferenceProtocol() throws Exception {
        InferenceServer s = serve(resnet8(), InferenceServer.Options.defaults());
        assertEquals(200, get(s, "/v2/health/live").statusCode());
        assertEquals(200, get(s, "/v2/health/ready").statusCode());
        var meta = get(s, "/v2/models/shapes");
        assertEquals(200, meta.statusCode());
        assertEquals("[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[-1,3,32,32]}]".length(),
                Json.write(((Map<?, ?>) Json.parse(meta.body())).get("inputs")).length());
        assertTrue(meta.body().contains("\"shape\":[-1,6]"), meta.body());
        assertEquals(200, get(s, "/v2/models/shapes/ready").statusCode());
        var missing = get(s, "/v2/models/nope");
        assertEquals(404, missing.statusCode());
        assertTrue(missing.body().contains("nope") && missing.body().contains("shapes"), missing.body());
        assertEquals(404, get(s, "/v3/anything").statusCode());
        var wrongMethod = get(s, "/v2/models/shapes/infer");
        assertEquals(405, wrongMethod.statusCode());
        assertEquals("POST", wrongMethod.headers().firstValue("Allow").orElse(""));
    }

    @Test
    void inferAnswersAsTheUnbatchedModelAndRefusesBadTensors() throws Exception {
        Module model = resnet8();
        InferenceServer s = serve(model, InferenceServer.Options.defaults().withLimits(1 << 20, 30_000));
        List<Tensor> x = images(2, 10);
        var r = post(s, "/v2/models/shapes/infer", "application/json", inferBody(x).getBytes());
        assertEquals(200, r.statusCode(), r.body());
        Map<?, ?> o = (Map<?, ?>) Json.parse(r.body());
        assertEquals("r1", o.get("id"));
        Map<?, ?> out = (Map<?, ?>) ((List<?>) o.get("outputs")).getFirst();
        assertEquals(List.of(2L, 6L), out.get("shape"));
        float[] got = floats(out.get("data"));
        Predictor alone = new Predictor(model, NORM, SyntheticShapes.CLASSES, 3, 1);
        for (int i = 0; i < 2; i++) {
            assertArrayEquals(alone.logits(List.of(x.get(i)))[0], java.util.Arrays.copyOfRange(got, i * 6, i * 6 + 6), 1e-5f);
        }
        String good = inferBody(x);
        for (String[] bad : new String[][] {
                {good.replace("[2,3,32,32]", "[2,3,28,28]"), "shape"},
                {good.replace("FP32", "INT8"), "datatype"},
                {good.replace("[2,3,32,32]", "[3,3,32,32]"), "needs"},
                {"{\"inputs\": [", "not valid JSON"},
                {"{\"inputs\": []}", "exactly one"},
                {good.replaceFirst("\"data\":\\[", "\"data\":[\"x\","), "numbers"}}) {
            var e = post(s, "/v2/models/shapes/infer", "application/json", bad[0].getBytes());
            assertEquals(400, e.statusCode(), bad[1] + ": " + e.body());
            assertTrue(e.body().contains(bad[1]), e.body());
        }
        assertEquals(415, post(s, "/v2/models/shapes/infer", "text/plain", good.getBytes()).statusCode());
        assertEquals(413, post(s, "/v2/models/shapes/infer", "application/json", new byte[(1 << 20) + 1]).statusCode());
        assertEquals(200, post(s, "/v2/models/shapes/infer", "application/json", good.getBytes()).statusCode(), "still serving");
        // a request is counted once its answer is written, which the client may see first
        String metrics = get(s, "/metrics").body();
        for (long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10); !metrics.contains("resnet4j_requests_total{endpoint=\"infer\",code=\"200\"} 2")
                && System.nanoTime() < until; Thread.sleep(10)) {
            metrics = get(s, "/metrics").body();
        }
        assertTrue(metrics.contains("resnet4j_requests_total{endpoint=\"infer\",code=\"400\"} 6"), metrics);
        assertTrue(metrics.contains("resnet4j_requests_total{endpoint=\"infer\",code=\"200\"} 2"), metrics);
        assertTrue(metrics.contains("resnet4j_batch_size_count 2") && metrics.contains("resnet4j_queue_depth{model=\"shapes\"} 0"), metrics);
    }

    /** Triton's binary tensor data extension: a JSON header, then the raw little-endian tensor. */
    private static byte[] binaryBody(String header, float[] data) {
        byte[] json = header.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(json.length + data.length * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put(json);
        for (float v : data) b.putFloat(v);
        return b.array();
    }

    private HttpResponse<byte[]> postBinary(InferenceServer s, String header, byte[] body) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/v2/models/shapes/infer"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/octet-stream")
                .header("Inference-Header-Content-Length", header).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    @Test
    void binaryTensorsInAndOutAsTritonsClientSendsThem() throws Exception {
        Module model = resnet8();
        InferenceServer s = serve(model, InferenceServer.Options.defaults());
        List<Tensor> x = images(3, 40);
        float[] flat = new float[3 * 3 * 32 * 32];
        for (int i = 0; i < 3; i++) System.arraycopy(x.get(i).data(), 0, flat, i * 3072, 3072);
        String header = "{\"inputs\":[{\"name\":\"input\",\"shape\":[3,3,32,32],\"datatype\":\"FP32\",\"parameters\":{\"binary_data_size\":36864}}],"
                + "\"outputs\":[{\"name\":\"output\",\"parameters\":{\"binary_data\":true}}]}";
        byte[] body = binaryBody(header, flat);
        int jsonLength = header.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        var r = postBinary(s, Integer.toString(jsonLength), body);
        assertEquals(200, r.statusCode(), new String(r.body()));
        assertEquals("application/octet-stream", r.headers().firstValue("Content-Type").orElse(""));
        int answerJson = Integer.parseInt(r.headers().firstValue("Inference-Header-Content-Length").orElseThrow());
        Map<?, ?> o = (Map<?, ?>) Json.parse(new String(r.body(), 0, answerJson, java.nio.charset.StandardCharsets.UTF_8));
        Map<?, ?> out = (Map<?, ?>) ((List<?>) o.get("outputs")).getFirst();
        assertEquals(List.of(3L, 6L), out.get("shape"));
        assertEquals(72L, ((Map<?, ?>) out.get("parameters")).get("binary_data_size"));
        assertEquals(answerJson + 72, r.body().length);
        java.nio.FloatBuffer got = java.nio.ByteBuffer.wrap(r.body(), answerJson, 72).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        Predictor alone = new Predictor(model, NORM, SyntheticShapes.CLASSES, 3, 1);
        for (int i = 0; i < 3; i++) {
            float[] row = new float[6];
            got.get(row);
            assertArrayEquals(alone.logits(List.of(x.get(i)))[0], row, 1e-5f);
        }
        // the same request answered in JSON when binary output is not asked for
        String jsonOut = header.replace(",\"outputs\":[{\"name\":\"output\",\"parameters\":{\"binary_data\":true}}]", "");
        var j = postBinary(s, Integer.toString(jsonOut.length()), binaryBody(jsonOut, flat));
        assertEquals(200, j.statusCode());
        assertTrue(new String(j.body()).contains("\"data\":["), new String(j.body()));
        for (String[] bad : new String[][] {
                {header.replace("36864", "36860"), "binary_data_size must be 36864"},
                {header.replace("\"name\":\"output\"", "\"name\":\"logits\""), "outputs[0] must name"}}) {
            var e = postBinary(s, Integer.toString(bad[0].length()), binaryBody(bad[0], flat));
            assertEquals(400, e.statusCode(), bad[1]);
            assertTrue(new String(e.body()).contains(bad[1]), new String(e.body()));
        }
        var cut = postBinary(s, Integer.toString(jsonLength), java.util.Arrays.copyOf(body, body.length - 4));
        assertEquals(400, cut.statusCode());
        assertTrue(new String(cut.body()).contains("needs 36864"), new String(cut.body()));
        var beyond = postBinary(s, Integer.toString(body.length + 1), body);
        assertEquals(400, beyond.statusCode());
        assertTrue(new String(beyond.body()).contains("Inference-Header-Content-Length"), new String(beyond.body()));
    }

    /**
     * What a client declares never decides what the server allocates: a 110-byte body that
     * declares 400,000 images (1.2 G floats), one over the request limit, and data that do not
     * fill their shape are refused with 400 before any tensor is made, and the server goes on
     * serving.
     */
    @Test
    void declaredShapesAreCheckedBeforeAnythingIsAllocated() throws Exception {
        InferenceServer s = serve(resnet8(), InferenceServer.Options.defaults().withMaxRequestBatch(2));
        String[][] cases = {
            {"{\"inputs\":[{\"name\":\"input\",\"shape\":[400000,3,32,32],\"datatype\":\"FP32\",\"data\":[0]}]}", "at most 2 images per request"},
            {"{\"inputs\":[{\"name\":\"input\",\"shape\":[3,3,32,32],\"datatype\":\"FP32\",\"data\":[0]}]}", "at most 2 images per request"},
            {"{\"inputs\":[{\"name\":\"input\",\"shape\":[2,3,32,32],\"datatype\":\"FP32\",\"data\":[0,1,2]}]}", "has 3 numbers, the shape [2, 3, 32, 32] needs 6144"},
            {"{\"inputs\":[{\"name\":\"input\",\"shape\":[1,3,32,32],\"datatype\":\"FP32\",\"data\":[0,\"x\"]}]}", "holds only numbers in $.inputs[0].data[1]"}};
        for (String[] c : cases) {
            var r = post(s, "/v2/models/shapes/infer", "application/json", c[0].getBytes());
            assertEquals(400, r.statusCode(), c[0]);
            assertTrue(r.body().contains(c[1]), r.body());
        }
        assertEquals(200, post(s, "/v2/models/shapes/infer", "application/json", inferBody(images(2, 9)).getBytes()).statusCode(), "still serving");
    }

    @Test
    void predictTakesImageBytes() throws Exception {
        InferenceServer s = serve(resnet8(), InferenceServer.Options.defaults());
        Tensor img = new SyntheticShapes(1, 3, 32).get(0).image();
        BufferedImage bi = org.resnet4j.data.ImageDecoder.toImage(img, 1);
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(bi, "png", png);
        var r = post(s, "/v1/models/shapes/predict?top=3", "image/png", png.toByteArray());
        assertEquals(200, r.statusCode(), r.body());
        List<?> top = (List<?>) ((Map<?, ?>) Json.parse(r.body())).get("top");
        assertEquals(3, top.size());
        assertTrue(SyntheticShapes.CLASSES.contains(((Map<?, ?>) top.getFirst()).get("label")));
        var bad = post(s, "/v1/models/shapes/predict", "image/jpeg", new byte[] {1, 2, 3});
        assertEquals(400, bad.statusCode());
        assertTrue(bad.body().contains("not a readable image"), bad.body());
        assertEquals(415, post(s, "/v1/models/shapes/predict", "text/plain", png.toByteArray()).statusCode());
        assertEquals(400, post(s, "/v1/models/shapes/predict?top=0", "image/png", png.toByteArray()).statusCode());
    }

    @Test
    void concurrentRequestsShareForwardPasses() throws Exception {
        Module model = resnet8();
        // each forward pass takes 200 ms more: the first request (run at once, alone) is still in
        // the model when the others arrive, so they have company to batch with
        InferenceServer s = serve(new SlowModel(model, 200), InferenceServer.Options.defaults().withBatching(8, 300, 64));
        int n = 8;
        ExecutorService pool = Executors.newFixedThreadPool(n);
        List<Future<HttpResponse<String>>> answers = new ArrayList<>();
        List<List<Tensor>> inputs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            List<Tensor> x = images(1, 100 + i);
            inputs.add(x);
            answers.add(pool.submit(() -> post(s, "/v2/models/shapes/infer", "application/json", inferBody(x).getBytes())));
        }
        // the reference runs the served module while the server may still be running it for
        // the other requests (Inference counts the calls on a module: both see eval mode)
        Predictor alone = new Predictor(model, NORM, SyntheticShapes.CLASSES, 3, 1);
        for (int i = 0; i < n; i++) {
            var r = answers.get(i).get(60, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), r.body());
            Map<?, ?> out = (Map<?, ?>) ((List<?>) ((Map<?, ?>) Json.parse(r.body())).get("outputs")).getFirst();
            assertArrayEquals(alone.logits(inputs.get(i))[0], floats(out.get("data")), 1e-5f, "request " + i + " answered with its own row");
        }
        pool.shutdown();
        assertTrue(s.batchesRun() < n, n + " requests in " + s.batchesRun() + " forward passes");
        assertTrue(s.batchesRun() >= 1);
    }

    /** Reads until the server closes the connection; what it sent, or null if it stayed open past the wait. */
    private static String readUntilClosed(java.net.Socket socket, int waitMillis) throws Exception {
        socket.setSoTimeout(waitMillis);
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        try {
            socket.getInputStream().transferTo(got);
        } catch (java.net.SocketTimeoutException stillOpen) {
            return null;
        } catch (java.io.IOException reset) {
            // closed hard: as good as closed
        }
        return got.toString(java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    @Test
    void slowClientsAreDisconnectedWithoutHoldingTheServer() throws Exception {
        // the tests run with sun.net.httpserver.maxReqTime = 2 s (see this module's pom)
        InferenceServer s = serve(resnet8(), InferenceServer.Options.defaults());
        String body = inferBody(images(1, 7));
        try (java.net.Socket headOnly = new java.net.Socket("127.0.0.1", s.port());
             java.net.Socket partBody = new java.net.Socket("127.0.0.1", s.port())) {
            headOnly.getOutputStream().write("POST /v2/models/shapes/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-".getBytes());
            partBody.getOutputStream().write(("POST /v2/models/shapes/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length() + "\r\n\r\n" + body.substring(0, 100)).getBytes());
            headOnly.getOutputStream().flush();
            partBody.getOutputStream().flush();
            // while they dawdle, others are served
            for (int i = 0; i < 3; i++) assertEquals(200, post(s, "/v2/models/shapes/infer", "application/json", body.getBytes()).statusCode());
            long t0 = System.nanoTime();
            String a = readUntilClosed(headOnly, 20_000), b = readUntilClosed(partBody, 20_000);
            double waited = (System.nanoTime() - t0) / 1e9;
            assertTrue(a != null && b != null, "both slow connections were closed by the server, after " + waited + " s");
            assertTrue(!a.contains("200 OK") && !b.contains("200 OK"), a + " | " + b);
        }
        assertEquals(200, post(s, "/v2/models/shapes/infer", "application/json", body.getBytes()).statusCode(), "still serving");
        String metrics = get(s, "/metrics").body();
        assertTrue(metrics.contains("resnet4j_requests_total{endpoint=\"infer\",code=\"408\"} 1"), "the cut body is counted: " + metrics);
    }

    /** Throws the given Error on its second call (the first is the server's warm-up), then answers zeros again. */
    static final class FailingOnceModel extends Module {
        final Error error;
        final java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();

        FailingOnceModel(Error error) {
            this.error = error;
        }

        @Override
        public Variable forward(Variable x) {
            if (calls.getAndIncrement() == 1) throw error;
            return Variable.constant(Tensor.zeros(x.value().dim(0), 6));
        }
    }

    /** An Error in a forward pass fails that batch's request with 500; the worker goes on, the server stays ready. */
    @Test
    void anErrorInABatchFailsOnlyThatBatch() throws Exception {
        for (Error e : new Error[] {new OutOfMemoryError("Java heap space (test)"), new StackOverflowError()}) {
            InferenceServer s = serve(new FailingOnceModel(e), InferenceServer.Options.defaults());
            String body = inferBody(images(1, 5));
            var failed = post(s, "/v2/models/shapes/infer", "application/json", body.getBytes());
            assertEquals(500, failed.statusCode(), failed.body());
            assertTrue(failed.body().contains(e.getClass().getName()), failed.body());
            assertEquals(200, post(s, "/v2/models/shapes/infer", "application/json", body.getBytes()).statusCode(), "the worker goes on");
            assertEquals(200, get(s, "/v2/health/ready").statusCode());
            String metrics = get(s, "/metrics").body();
            assertTrue(metrics.contains("resnet4j_batch_failures_total{error=\"" + e.getClass().getName() + "\"} 1"), metrics);
            assertTrue(metrics.contains("resnet4j_worker_up{model=\"shapes\"} 1"), metrics);
            s.close();
        }
    }

    /** A model that takes {@code millis} longer than the one it wraps, with the same outputs. */
    static final class SlowModel extends Module {
        private final Module inner;
        private final long millis;

        SlowModel(Module inner, long millis) {
            this.inner = register("inner", inner);
            this.millis = millis;
        }

        @Override
        public Variable forward(Variable x) {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return inner.forward(x);
        }
    }

    /** Returns zeros of [N, 6]; after the server's warm-up call, only once the gate opens: holds the batcher so the queue fills. */
    static final class GatedModel extends Module {
        final CountDownLatch entered = new CountDownLatch(1), gate = new CountDownLatch(1);
        final java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();

        @Override
        public Variable forward(Variable x) {
            if (calls.getAndIncrement() == 0) return Variable.constant(Tensor.zeros(x.value().dim(0), 6)); // warm-up
            entered.countDown();
            try {
                gate.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return Variable.constant(Tensor.zeros(x.value().dim(0), 6));
        }
    }

    @Test
    void aFullQueueAnswers503AndShutdownAnswersEveryQueuedRequest() throws Exception {
        GatedModel model = new GatedModel();
        // the model holds 3 images: the one running and two waiting; a fourth is refused
        InferenceServer s = serve(model, InferenceServer.Options.defaults().withBatching(1, 0, 3));
        ExecutorService pool = Executors.newFixedThreadPool(4);
        String body = inferBody(images(1, 1));
        Future<HttpResponse<String>> running = pool.submit(() -> post(s, "/v2/models/shapes/infer", "application/json", body.getBytes()));
        assertTrue(model.entered.await(30, TimeUnit.SECONDS), "the first request reached the model");
        List<Future<HttpResponse<String>>> queued = new ArrayList<>();
        for (int i = 0; i < 2; i++) queued.add(pool.submit(() -> post(s, "/v2/models/shapes/infer", "application/json", body.getBytes())));
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!get(s, "/metrics").body().contains("resnet4j_queue_depth{model=\"shapes\"} 2") && System.nanoTime() < until) Thread.sleep(20);
        var refused = post(s, "/v2/models/shapes/infer", "application/json", body.getBytes());
        assertEquals(503, refused.statusCode(), refused.body());
        assertEquals("1", refused.headers().firstValue("Retry-After").orElse(""));
        assertTrue(refused.body().contains("full"), refused.body());

        Future<?> closing = pool.submit(s::close); // readiness goes false, the queue is drained
        until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (get(s, "/v2/health/ready").statusCode() != 503 && System.nanoTime() < until) Thread.sleep(10);
        assertEquals(503, get(s, "/v2/health/ready").statusCode(), "not ready while shutting down");
        assertEquals(503, post(s, "/v2/models/shapes/infer", "application/json", body.getBytes()).statusCode(), "no new work");
        model.gate.countDown();
        assertEquals(200, running.get(30, TimeUnit.SECONDS).statusCode());
        for (var q : queued) assertEquals(200, q.get(30, TimeUnit.SECONDS).statusCode(), "accepted requests are answered");
        closing.get(30, TimeUnit.SECONDS);
        pool.shutdown();
    }

    private static long gauge(String metrics, String name) {
        for (String line : metrics.split("\n")) if (line.startsWith(name + " ")) return Long.parseLong(line.substring(name.length() + 1).trim());
        throw new AssertionError("no " + name + " in /metrics");
    }

    @Test
    void admissionBoundsTheRequestsInFlightAndTheBytesTheyHold() throws Exception {
        GatedModel model = new GatedModel();
        String body = inferBody(images(1, 1));
        // one request reserves its body, 4x it for parsing, and 8 bytes per number of its tensor
        long one = body.length() + 4L * body.length() + 8L * 3 * 32 * 32;
        InferenceServer s = serve(model, InferenceServer.Options.defaults().withBatching(1, 0, 8).withAdmission(2, one + one / 2, 1 << 20));
        ExecutorService pool = Executors.newFixedThreadPool(4);
        Future<HttpResponse<String>> running = pool.submit(() -> post(s, "/v2/models/shapes/infer", "application/json", body.getBytes()));
        assertTrue(model.entered.await(30, TimeUnit.SECONDS), "the first request reached the model");
        String m = get(s, "/metrics").body();
        assertEquals(1, gauge(m, "resnet4j_inflight_requests"));
        assertEquals(one, gauge(m, "resnet4j_inflight_bytes"), "what the first request reserved");
        // a second one fits in the count but not in the bytes left: 503 before anything is read
        var busy = post(s, "/v2/models/shapes/infer", "application/json", body.getBytes());
        assertEquals(503, busy.statusCode(), busy.body());
        assertEquals("1", busy.headers().firstValue("Retry-After").orElse(""));
        assertTrue(busy.body().contains("--max-inflight-bytes"), busy.body());
        // a request that alone needs more than the whole budget can never be served: 413
        String big = inferBody(images(2, 5));
        var tooLarge = post(s, "/v2/models/shapes/infer", "application/json", big.getBytes());
        assertEquals(413, tooLarge.statusCode(), tooLarge.body());
        // a small request (an unknown model costs nothing) while one is held is still answered: the count bounds, not blocks
        assertEquals(404, post(s, "/v2/models/nope/infer", "application/json", body.getBytes()).statusCode());
        model.gate.countDown();
        assertEquals(200, running.get(30, TimeUnit.SECONDS).statusCode());
        m = get(s, "/metrics").body();
        assertEquals(0, gauge(m, "resnet4j_inflight_requests"), "every permit given back");
        assertEquals(0, gauge(m, "resnet4j_inflight_bytes"), "every byte given back");
        assertEquals(200, post(s, "/v2/models/shapes/infer", "application/json", body.getBytes()).statusCode(), "serving after refusals");
        pool.shutdown();
    }

    @Test
    void requestsPastTheCountAreRefusedBeforeTheirBodyIsRead() throws Exception {
        GatedModel model = new GatedModel();
        InferenceServer s = serve(model, InferenceServer.Options.defaults().withBatching(1, 0, 8).withAdmission(1, 512L << 20, 1 << 20));
        String body = inferBody(images(1, 2));
        ExecutorService pool = Executors.newFixedThreadPool(2);
        Future<HttpResponse<String>> running = pool.submit(() -> post(s, "/v2/models/shapes/infer", "application/json", body.getBytes()));
        assertTrue(model.entered.await(30, TimeUnit.SECONDS));
        var refused = post(s, "/v1/models/shapes/predict", "image/png", new byte[] {1, 2, 3});
        assertEquals(503, refused.statusCode(), "refused before its body was looked at: " + refused.body());
        assertTrue(refused.body().contains("--max-in-flight"), refused.body());
        assertEquals(200, get(s, "/v2/health/ready").statusCode(), "health is not admission-bound");
        model.gate.countDown();
        assertEquals(200, running.get(30, TimeUnit.SECONDS).statusCode());
        pool.shutdown();
    }

    @Test
    void theServersPixelLimitIsCheckedFromTheHeaderBeforeDecoding() throws Exception {
        InferenceServer s = serve(resnet8(), InferenceServer.Options.defaults().withAdmission(8, 512L << 20, 64 * 64));
        ByteArrayOutputStream small = new ByteArrayOutputStream(), large = new ByteArrayOutputStream();
        ImageIO.write(new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB), "png", small);
        ImageIO.write(new BufferedImage(65, 64, BufferedImage.TYPE_INT_RGB), "png", large);
        assertEquals(200, post(s, "/v1/models/shapes/predict", "image/png", small.toByteArray()).statusCode());
        var r = post(s, "/v1/models/shapes/predict", "image/png", large.toByteArray());
        assertEquals(413, r.statusCode(), r.body());
        assertTrue(r.body().contains("65x64") && r.body().contains("--max-pixels"), r.body());
        assertEquals(0, gauge(get(s, "/metrics").body(), "resnet4j_inflight_bytes"));
    }

    /**
     * Fifty requests at once, each a 110-byte body declaring a 1.2 G-number tensor: each is
     * refused with 400 at once (the declared shape is checked before anything is allocated, so
     * the heap does not grow), readiness stays true, and a well-formed request sent meanwhile is
     * answered. The time bound is loose (1 s, where allocating the declared tensor took 1.7-12 s).
     */
    @Test
    void fiftyDeclaredHugeTensorsAtOnceLeaveTheServerServing() throws Exception {
        InferenceServer s = serve(resnet8(), InferenceServer.Options.defaults());
        String huge = "{\"inputs\":[{\"name\":\"input\",\"shape\":[400000,3,32,32],\"datatype\":\"FP32\",\"data\":[0]}]}";
        String good = inferBody(images(1, 3));
        assertEquals(200, post(s, "/v2/models/shapes/infer", "application/json", good.getBytes()).statusCode());
        java.lang.management.MemoryMXBean mem = java.lang.management.ManagementFactory.getMemoryMXBean();
        System.gc();
        long before = mem.getHeapMemoryUsage().getUsed();
        ExecutorService pool = Executors.newFixedThreadPool(16);
        List<Future<long[]>> refused = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            refused.add(pool.submit(() -> {
                long t0 = System.nanoTime();
                int code = post(s, "/v2/models/shapes/infer", "application/json", huge.getBytes()).statusCode();
                return new long[] {code, System.nanoTime() - t0};
            }));
        }
        var meanwhile = pool.submit(() -> post(s, "/v2/models/shapes/infer", "application/json", good.getBytes()));
        long peak = 0;
        for (Future<long[]> f : refused) {
            long[] r = f.get(60, TimeUnit.SECONDS);
            assertEquals(400, r[0]);
            assertTrue(r[1] < TimeUnit.SECONDS.toNanos(1), "refused in " + r[1] / 1e6 + " ms");
            peak = Math.max(peak, mem.getHeapMemoryUsage().getUsed());
        }
        assertEquals(200, meanwhile.get(60, TimeUnit.SECONDS).statusCode(), "a well-formed request is answered meanwhile");
        assertEquals(200, get(s, "/v2/health/ready").statusCode());
        assertTrue(peak - before < 256L << 20, "heap grew by " + ((peak - before) >> 20) + " MiB; one declared tensor would be 4.7 GiB");
        pool.shutdown();
    }

    /**
     * Shutdown under load: eight clients keep sending while the server closes. Every request ends
     * — answered (200), refused (503), or its connection refused once the listener is gone — and
     * none is left waiting; close returns.
     */
    @Test
    void shutdownUnderConcurrentLoadAnswersOrRefusesEveryRequest() throws Exception {
        InferenceServer s = serve(resnet8(), InferenceServer.Options.defaults().withBatching(4, 2, 64));
        String body = inferBody(images(1, 4));
        ExecutorService pool = Executors.newFixedThreadPool(9); // 8 clients and the closing call
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.Map<Integer, java.util.concurrent.atomic.AtomicInteger> codes = new java.util.concurrent.ConcurrentHashMap<>();
        java.util.concurrent.atomic.AtomicInteger connectionRefused = new java.util.concurrent.atomic.AtomicInteger();
        List<Future<?>> clients = new ArrayList<>();
        for (int c = 0; c < 8; c++) {
            clients.add(pool.submit(() -> {
                while (!stop.get()) {
                    try {
                        var resp = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/v2/models/shapes/infer"))
                                .timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                        int code = resp.statusCode();
                        codes.computeIfAbsent(code, k -> new java.util.concurrent.atomic.AtomicInteger()).incrementAndGet();
                    } catch (java.net.http.HttpTimeoutException e) {
                        throw new AssertionError("a request was left waiting", e);
                    } catch (java.io.IOException e) {
                        connectionRefused.incrementAndGet(); // the listener has closed: refused, not waiting
                        Thread.sleep(5);
                    }
                }
                return null;
            }));
        }
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (codes.getOrDefault(200, new java.util.concurrent.atomic.AtomicInteger()).get() < 20 && System.nanoTime() < until) Thread.sleep(10);
        Future<?> closing = pool.submit(s::close);
        closing.get(60, TimeUnit.SECONDS);
        Thread.sleep(200);
        stop.set(true);
        for (Future<?> f : clients) f.get(60, TimeUnit.SECONDS);
        System.out.println("shutdown under load: answers by status " + codes + ", connections refused after close " + connectionRefused);
        pool.shutdown();
        assertTrue(codes.getOrDefault(200, new java.util.concurrent.atomic.AtomicInteger()).get() >= 20, "served before closing: " + codes);
        for (int code : codes.keySet()) assertTrue(code == 200 || code == 503, "only answers and refusals: " + codes);
    }
}
