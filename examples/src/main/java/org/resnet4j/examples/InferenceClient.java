package org.resnet4j.examples;

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
import java.util.List;
import java.util.Map;
import org.resnet4j.io.json.Json;
import org.resnet4j.serve.InferenceServer;
import org.resnet4j.serve.ServedModel;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.Predictor;
import org.resnet4j.train.TrainedModel;

/**
 * A Java client of {@code resnet4j serve}, with nothing but the JDK's HttpClient: readiness, the
 * model's metadata, the Open Inference Protocol's infer with a JSON tensor and with Triton's binary
 * tensor extension (what Triton's and KServe's clients send), and the image endpoint with PNG bytes.
 * Any server speaking the protocol (Triton, KServe) answers the v2 calls the same way.
 *
 * <p>{@code InferenceClient URL MODEL} talks to a running server; {@code InferenceClient CHECKPOINT}
 * (or no argument: resnet18 with random weights) starts one in this process on a free loopback
 * port first, so the example runs on its own.
 */
public class InferenceClient {
    public static void main(String[] args) throws Exception {
        InferenceServer local = null;
        String base, model;
        if (args.length >= 2 && args[0].startsWith("http")) {
            base = args[0];
            model = args[1];
        } else {
            Predictor p = args.length > 0 ? Predictor.of(TrainedModel.load(Path.of(args[0])), 8)
                    : Predictor.imagenet(org.resnet4j.models.Models.create("resnet18"), 8);
            int[] shape = p.preprocess(Tensor.zeros(3, 320, 320)).shape();
            model = "example";
            local = InferenceServer.start(List.of(new ServedModel(model, p, shape)), InferenceServer.Options.defaults().withPort(0));
            base = "http://127.0.0.1:" + local.port();
        }
        try {
            run(base, model);
        } finally {
            if (local != null) local.close();
        }
    }

    static void run(String base, String model) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

        // readiness, then the input shape from the model's metadata: [-1, C, H, W]
        System.out.println("ready: " + get(http, base + "/v2/health/ready").statusCode());
        Map<?, ?> meta = (Map<?, ?>) Json.parse(get(http, base + "/v2/models/" + model).body());
        List<?> shape = (List<?>) ((Map<?, ?>) ((List<?>) meta.get("inputs")).get(0)).get("shape");
        int c = ((Number) shape.get(1)).intValue(), h = ((Number) shape.get(2)).intValue(), w = ((Number) shape.get(3)).intValue();
        System.out.printf("model %s takes [N, %d, %d, %d]%n", model, c, h, w);

        // two preprocessed inputs as a JSON tensor
        float[] x = Tensor.uniform(1, -1, 1, 2, c, h, w).data();
        List<Float> data = new ArrayList<>(x.length);
        for (float v : x) data.add(v);
        String json = Json.write(Map.of("id", "json-1", "inputs", List.of(Map.of("name", "input", "datatype", "FP32",
                "shape", List.of(2, c, h, w), "data", data))));
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v2/models/" + model + "/infer"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build(),
                HttpResponse.BodyHandlers.ofString());
        Map<?, ?> out = (Map<?, ?>) ((List<?>) ((Map<?, ?>) Json.parse(r.body())).get("outputs")).get(0);
        List<?> logits = (List<?>) out.get("data");
        System.out.printf("infer (JSON, %,d bytes): %d, output shape %s, first logits %.4f %.4f%n",
                json.length(), r.statusCode(), out.get("shape"), ((Number) logits.get(0)).doubleValue(), ((Number) logits.get(1)).doubleValue());

        // the same inputs as raw little-endian FP32 after a JSON header (Triton's binary tensor
        // extension), and the output asked for the same way
        byte[] header = Json.write(Map.of("inputs", List.of(Map.of("name", "input", "datatype", "FP32", "shape", List.of(2, c, h, w),
                "parameters", Map.of("binary_data_size", 4L * x.length))),
                "outputs", List.of(Map.of("name", "output", "parameters", Map.of("binary_data", true))))).getBytes(StandardCharsets.UTF_8);
        ByteBuffer body = ByteBuffer.allocate(header.length + 4 * x.length).order(ByteOrder.LITTLE_ENDIAN);
        body.put(header);
        for (float v : x) body.putFloat(v);
        HttpResponse<byte[]> b = http.send(HttpRequest.newBuilder(URI.create(base + "/v2/models/" + model + "/infer"))
                .header("Content-Type", "application/octet-stream").header("Inference-Header-Content-Length", Integer.toString(header.length))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.array())).build(), HttpResponse.BodyHandlers.ofByteArray());
        int jsonLength = Integer.parseInt(b.headers().firstValue("Inference-Header-Content-Length").orElseThrow());
        ByteBuffer tensor = ByteBuffer.wrap(b.body(), jsonLength, b.body().length - jsonLength).slice().order(ByteOrder.LITTLE_ENDIAN);
        System.out.printf("infer (binary, %,d bytes): %d, %s, first logits %.4f %.4f%n", body.capacity(), b.statusCode(),
                new String(b.body(), 0, jsonLength, StandardCharsets.UTF_8), tensor.getFloat(0), tensor.getFloat(4));

        // an image file, preprocessed by the server as the model's own evaluation transform
        Path png = ExampleData.images(Path.of("to-serve"), 1, 64).getFirst();
        HttpResponse<String> p = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/models/" + model + "/predict?top=3"))
                .header("Content-Type", "image/png").POST(HttpRequest.BodyPublishers.ofByteArray(Files.readAllBytes(png))).build(),
                HttpResponse.BodyHandlers.ofString());
        System.out.println("predict " + png.getFileName() + ": " + p.statusCode() + " " + p.body());

        // errors name what is wrong
        HttpResponse<String> bad = http.send(HttpRequest.newBuilder(URI.create(base + "/v2/models/" + model + "/infer"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                        "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,3,7,7],\"datatype\":\"FP32\",\"data\":[0]}]}")).build(),
                HttpResponse.BodyHandlers.ofString());
        System.out.println("a wrong shape: " + bad.statusCode() + " " + bad.body());
        if (r.statusCode() != 200 || b.statusCode() != 200 || p.statusCode() != 200 || bad.statusCode() != 400) {
            throw new IllegalStateException("unexpected answers from " + base);
        }
    }

    private static HttpResponse<String> get(HttpClient http, String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
