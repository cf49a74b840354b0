package org.resnet4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.testing.Cli;

/** `serve` from the command line: binds loopback, serves every model it is given, stops by itself after --for-seconds. */
class ServeCommandTest {
    @TempDir
    Path dir;

    @Test
    void servesTwoModelsOnLoopbackAndStopsOnTime() throws Exception {
        Path weights = dir.resolve("r8.safetensors");
        SafeTensors.write(weights, Models.create("resnet8", ModelConfig.defaults(10)).stateDict(), null);
        Path small = dir.resolve("r8-5.safetensors");
        SafeTensors.write(small, Models.create("resnet8", ModelConfig.defaults(5)).stateDict(), null);
        Path names = dir.resolve("five.txt");
        java.nio.file.Files.writeString(names, "a\nb\nc\nd\ne\n");
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        CompletableFuture<Cli.Run> run = CompletableFuture.supplyAsync(() -> Cli.run("serve", "--model", "resnet8", "--weights", weights.toString(),
                "--name", "r8", "--model", "resnet8", "--weights", small.toString(), "--class-names", names.toString(), "--name", "five", "--port", Integer.toString(port), "--for-seconds", "6", "--threads", "1"));
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        String base = "http://127.0.0.1:" + port;
        HttpResponse<String> ready = null;
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < until) {
            try {
                ready = client.send(HttpRequest.newBuilder(URI.create(base + "/v2/models/r8/ready")).build(), HttpResponse.BodyHandlers.ofString());
                break;
            } catch (java.io.IOException notYet) {
                Thread.sleep(50);
            }
        }
        assertTrue(ready != null && ready.statusCode() == 200, "ready: " + (ready == null ? "no answer" : ready.body()));
        HttpResponse<String> meta = client.send(HttpRequest.newBuilder(URI.create(base + "/v2/models/r8")).build(), HttpResponse.BodyHandlers.ofString());
        assertTrue(meta.body().contains("[-1,3,32,32]") && meta.body().contains("[-1,10]"), meta.body());
        HttpResponse<String> five = client.send(HttpRequest.newBuilder(URI.create(base + "/v2/models/five")).build(), HttpResponse.BodyHandlers.ofString());
        assertTrue(five.statusCode() == 200 && five.body().contains("[-1,5]"), five.body());
        Cli.Run r = run.get(30, TimeUnit.SECONDS);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("serving r8 (10 classes, input [N, 3, 32, 32]) at http://127.0.0.1:" + port), r.out());
        assertTrue(r.out().contains("serving five (5 classes, input [N, 3, 32, 32]) at http://127.0.0.1:" + port + "/v2/models/five"), r.out());
        assertTrue(r.out().contains("ready at http://127.0.0.1:" + port + "/"), r.out());
        assertTrue(r.out().contains("stopped after 6 s"), r.out());
    }
}
