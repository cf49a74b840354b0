package org.resnet4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.resnet4j.data.SyntheticShapes;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Init;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.Predictor;

/**
 * The request path at the byte level, over plain sockets: bodies longer or shorter than their
 * Content-Length, chunked bodies without one (still bounded), the per-stage time metrics, and the
 * request threads past their platform bound.
 */
class RequestPathTest {
    private static final long LIMIT = 64 << 10;
    private InferenceServer server;

    @BeforeEach
    void start() throws Exception {
        Init.manualSeed(4);
        Predictor p = new Predictor(Models.create("resnet8", ModelConfig.defaults(6)), InferenceServerTest.NORM, SyntheticShapes.CLASSES, 3, 16);
        server = InferenceServer.start(List.of(new ServedModel("shapes", p, new int[] {3, 32, 32})),
                InferenceServer.Options.defaults().withPort(0).withLimits(LIMIT, 30_000));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private static final byte[] HEADER = ("{\"inputs\":[{\"name\":\"input\",\"shape\":[1,3,32,32],\"datatype\":\"FP32\","
            + "\"parameters\":{\"binary_data_size\":12288}}],\"outputs\":[{\"name\":\"output\",\"parameters\":{\"binary_data\":true}}]}")
            .getBytes(StandardCharsets.UTF_8);

    /** A valid binary-tensor body for one 3x32x32 image. */
    private static byte[] body() {
        ByteBuffer b = ByteBuffer.allocate(HEADER.length + 12288).order(ByteOrder.LITTLE_ENDIAN);
        b.put(HEADER);
        for (float v : Tensor.uniform(3, -1, 1, 3, 32, 32).data()) b.putFloat(v);
        return b.array();
    }

    private static byte[] head(String extra) {
        return ("POST /v2/models/shapes/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
                + V2Tensors.HEADER_LENGTH + ": " + HEADER.length + "\r\n" + extra + "\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    private Socket socket() throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port());
        s.setSoTimeout(20_000);
        return s;
    }

    /** One answer's status code and body, or -1 when the connection closed before a status line. */
    record Answer(int status, String body) {}

    private static Answer read(InputStream in) throws IOException {
        String status = line(in);
        if (status == null) return new Answer(-1, "");
        int length = 0;
        for (String h; !(h = line(in)).isEmpty(); ) {
            if (h.toLowerCase().startsWith("content-length:")) length = Integer.parseInt(h.substring(15).trim());
        }
        return new Answer(Integer.parseInt(status.substring(9, 12)), new String(in.readNBytes(length), StandardCharsets.ISO_8859_1));
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int b; (b = in.read()) != '\n'; ) {
            if (b < 0) return sb.isEmpty() ? null : sb.toString();
            if (b != '\r') sb.append((char) b);
        }
        return sb.toString();
    }

    private String metrics() throws IOException {
        try (Socket s = socket()) {
            s.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            return read(new BufferedInputStream(s.getInputStream())).body();
        }
    }

    private int inferOnce() throws IOException {
        byte[] b = body();
        try (Socket s = socket()) {
            OutputStream out = s.getOutputStream();
            out.write(head("Content-Length: " + b.length + "\r\n"));
            out.write(b);
            return read(new BufferedInputStream(s.getInputStream())).status();
        }
    }

    private void assertAllGivenBack() throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String m;
        do {
            m = metrics();
            if (m.contains("resnet4j_inflight_requests 0") && m.contains("resnet4j_inflight_bytes 0")) return;
            Thread.sleep(10);
        } while (System.nanoTime() < end);
        throw new AssertionError("admission not given back:\n" + m);
    }

    @Test
    void keptAliveRequestsAndTheStageMetrics() throws Exception {
        byte[] b = body();
        try (Socket s = socket()) {
            OutputStream out = s.getOutputStream();
            InputStream in = new BufferedInputStream(s.getInputStream());
            for (int i = 0; i < 3; i++) { // one connection, one array per body sized from its Content-Length
                out.write(head("Content-Length: " + b.length + "\r\n"));
                out.write(b);
                assertEquals(200, read(in).status());
            }
        }
        // counted once each answer is written, which the client may read first
        String m = metrics();
        for (long until = System.nanoTime() + 10_000_000_000L; !m.contains("resnet4j_request_stage_requests_total 3") && System.nanoTime() < until; ) {
            Thread.sleep(10);
            m = metrics();
        }
        assertTrue(m.contains("resnet4j_request_stage_requests_total 3"), m);
        for (String stage : ServeMetrics.Timeline.STAGES) {
            assertTrue(m.contains("resnet4j_request_stage_seconds_total{stage=\"" + stage + "\"} "), stage + " in\n" + m);
        }
        assertAllGivenBack();
    }

    @Test
    void bytesPastTheContentLengthAreNotPartOfTheBody() throws Exception {
        byte[] b = body();
        try (Socket s = socket()) {
            OutputStream out = s.getOutputStream();
            InputStream in = new BufferedInputStream(s.getInputStream());
            out.write(head("Content-Length: " + b.length + "\r\n"));
            out.write(b);
            out.write("trailing garbage that is no request\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertEquals(200, read(in).status(), "the declared body is answered");
            // the rest was read as the connection's next request: refused or the connection closed, never a hang
            Answer next;
            try {
                next = read(in);
            } catch (SocketTimeoutException | java.net.SocketException e) {
                next = new Answer(-2, e.toString());
            }
            assertTrue(next.status() == -1 || (next.status() >= 400 && next.status() < 500), "after the body: " + next);
        }
        assertEquals(200, inferOnce());
        assertAllGivenBack();
    }

    @Test
    void aBodyShorterThanItsContentLengthIsNotAnswered200AndHoldsNothing() throws Exception {
        byte[] b = body();
        try (Socket s = socket()) {
            OutputStream out = s.getOutputStream();
            out.write(head("Content-Length: " + (b.length + 100) + "\r\n"));
            out.write(b);
            s.shutdownOutput(); // the client ends its side 100 bytes short
            Answer a = read(new BufferedInputStream(s.getInputStream()));
            assertTrue(a.status() == -1 || (a.status() >= 400 && a.status() < 500), "a short body: " + a);
        }
        assertEquals(200, inferOnce());
        assertAllGivenBack();
    }

    private Answer chunked(byte[] b, int chunk) throws IOException {
        try (Socket s = socket()) {
            OutputStream out = s.getOutputStream();
            out.write(head("Transfer-Encoding: chunked\r\n"));
            try {
                for (int at = 0; at < b.length; at += chunk) {
                    int n = Math.min(chunk, b.length - at);
                    out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(b, at, n);
                    out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                }
                out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            } catch (IOException refusedEarly) {
                // the server answered and closed before the whole body was sent: read its answer
            }
            return read(new BufferedInputStream(s.getInputStream()));
        }
    }

    @Test
    void chunkedBodiesWithoutContentLengthAreBounded() throws Exception {
        assertEquals(200, chunked(body(), 1000).status(), "a chunked body within the limit");
        byte[] big = new byte[(int) LIMIT * 4];
        Answer a = chunked(big, 8192);
        assertEquals(413, a.status(), a.body());
        assertAllGivenBack();
    }

    @Test
    void requestThreadsPastTheirPlatformBoundRunOnVirtualThreads() throws Exception {
        RequestThreads threads = new RequestThreads(2);
        CountDownLatch all = new CountDownLatch(5), release = new CountDownLatch(1);
        Set<Boolean> virtual = ConcurrentHashMap.newKeySet();
        List<Thread> seen = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            threads.execute(() -> {
                synchronized (seen) {
                    seen.add(Thread.currentThread());
                }
                virtual.add(Thread.currentThread().isVirtual());
                all.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
        assertTrue(all.await(10, TimeUnit.SECONDS), "all five ran at once");
        assertEquals(2, threads.platformThreads());
        assertEquals(Set.of(true, false), virtual);
        assertEquals(3, seen.stream().filter(Thread::isVirtual).count());
        release.countDown();
        threads.close(10, TimeUnit.SECONDS);
    }
}
