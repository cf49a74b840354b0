package org.resnet4j.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.resnet4j.kernels.Parallel;
import org.resnet4j.serve.InferenceServer;
import org.resnet4j.serve.ServedModel;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.Predictor;
import org.resnet4j.train.TrainedModel;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve models over HTTP: the Open Inference Protocol (KServe v2) at /v2, image uploads at",
                "/v1/models/NAME/predict, Prometheus metrics at /metrics, a web page at /; requests are batched dynamically.",
                "Repeat the model options to serve several models: --model resnet50 --weights a.pth --model resnet18 --weights b.pth.",
                "Binds to loopback unless --host says otherwise; SIGTERM stops it gracefully."})
final class ServeCommand implements Callable<Integer> {
    /** One served model: where it comes from and the name it has in URLs. */
    static final class Served extends ClassifierSource {
        @Option(names = "--name", description = "The model's name in URLs (default: the model name).") String name;
    }

    @ArgGroup(exclusive = false, multiplicity = "1..*") List<Served> served;
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to bind (default ${DEFAULT-VALUE}).") String host;
    @Option(names = "--port", defaultValue = "8080", description = "Port, 0 for any free one (default ${DEFAULT-VALUE}).") int port;
    @Option(names = "--max-batch", defaultValue = "16", description = "Most images per forward pass (default ${DEFAULT-VALUE}).") int maxBatch;
    @Option(names = "--max-request-batch", description = "Most images one v2 request may carry, checked against its declared shape "
            + "before anything is allocated (default: --max-batch).") Integer maxRequestBatch;
    @Option(names = "--max-delay-ms", defaultValue = "5", description = "Longest a request waits for company (default ${DEFAULT-VALUE}).") int maxDelay;
    @Option(names = "--queue", defaultValue = "64", description = "Images a model may hold, waiting or in its running batch; more get 503 (default ${DEFAULT-VALUE}).") int queue;
    @Option(names = "--max-body-bytes", defaultValue = "16777216", description = "Largest request body (default ${DEFAULT-VALUE}).") long maxBody;
    @Option(names = "--max-in-flight", defaultValue = "128", description = "Most inference requests being read, parsed, decoded, queued "
            + "or run at once; more get 503 before their body is read (default ${DEFAULT-VALUE}).") int maxInFlight;
    @Option(names = "--max-inflight-bytes", defaultValue = "536870912", description = "Most bytes those requests hold together (bodies, "
            + "tensors, decoded pixels), reserved before each is allocated; more get 503 (default ${DEFAULT-VALUE}: 512 MiB).") long maxInFlightBytes;
    @Option(names = "--max-pixels", defaultValue = "16777216", description = "Largest image the image endpoint decodes, checked from its "
            + "header; larger get 413 (default ${DEFAULT-VALUE}: 4096 x 4096).") long maxPixels;
    @Option(names = "--timeout-ms", defaultValue = "30000", description = "A request's deadline (default ${DEFAULT-VALUE}).") long timeout;
    @Option(names = "--client-timeout-s", defaultValue = "30", description = "A client must send its whole request, and take its whole answer, "
            + "within this long, or it is disconnected (default ${DEFAULT-VALUE}).") int clientTimeout;
    @Option(names = "--threads", description = "Compute threads (default: all cores).") Integer threads;
    @Option(names = "--for-seconds", defaultValue = "0", description = "Stop (gracefully) after this long; 0: until SIGTERM.") int forSeconds;

    @Override
    public Integer call() throws Exception {
        if (threads != null) Parallel.setThreads(threads);
        if (clientTimeout < 1) throw new IllegalArgumentException("--client-timeout-s must be >= 1, got " + clientTimeout);
        InferenceServer.setClientTimeoutSeconds(clientTimeout);
        List<ServedModel> models = new ArrayList<>();
        for (Served s : served) {
            TrainedModel tm = s.load();
            Predictor p = s.predictor(tm, maxBatch);
            int[] shape = p.preprocess(Tensor.zeros(tm.inChannels(), 320, 320)).shape(); // what preprocessing makes of any image
            models.add(new ServedModel(s.name != null ? s.name : tm.config().model, p, shape));
        }
        if (maxBatch < 1) throw new IllegalArgumentException("--max-batch must be >= 1, got " + maxBatch);
        if (maxRequestBatch != null && maxRequestBatch < 1) throw new IllegalArgumentException("--max-request-batch must be >= 1, got " + maxRequestBatch);
        if (maxInFlight < 1) throw new IllegalArgumentException("--max-in-flight must be >= 1, got " + maxInFlight);
        if (maxInFlightBytes < 1) throw new IllegalArgumentException("--max-inflight-bytes must be >= 1, got " + maxInFlightBytes);
        if (maxPixels < 1) throw new IllegalArgumentException("--max-pixels must be >= 1, got " + maxPixels);
        InferenceServer.Options o = new InferenceServer.Options(host, port, maxBatch, maxDelay, queue, maxBody, timeout,
                maxRequestBatch != null ? maxRequestBatch : maxBatch, maxInFlight, maxInFlightBytes, maxPixels);
        InferenceServer server = InferenceServer.start(models, o);
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            server.close();
            stopped.countDown();
        });
        Runtime.getRuntime().addShutdownHook(hook);
        for (ServedModel m : models) {
            int[] shape = m.inputShape();
            System.out.printf("serving %s (%d classes, input [N, %d, %d, %d]) at http://%s:%d/v2/models/%s%n",
                    m.name(), m.predictor().classes().size(), shape[0], shape[1], shape[2], host, server.port(), m.name());
        }
        System.out.printf("ready at http://%s:%d/ (batches of up to %d within %d ms, queue %d per model)%n",
                host, server.port(), maxBatch, maxDelay, queue);
        System.out.flush();
        if (forSeconds > 0) {
            if (!stopped.await(forSeconds, TimeUnit.SECONDS)) {
                Runtime.getRuntime().removeShutdownHook(hook);
                server.close();
                System.out.println("stopped after " + forSeconds + " s");
            }
        } else {
            stopped.await();
        }
        return 0;
    }
}
