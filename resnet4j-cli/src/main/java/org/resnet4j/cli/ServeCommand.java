package org.resnet4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
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
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve a model over HTTP: the Open Inference Protocol (KServe v2) at /v2, image uploads at",
                "/v1/models/NAME/predict, Prometheus metrics at /metrics; requests are batched dynamically.",
                "Binds to loopback unless --host says otherwise; SIGTERM stops it gracefully."})
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", description = "A checkpoint written by `resnet4j train`.") Path checkpoint;
    @Option(names = "--model", description = "With --weights: a registered model name.") String model;
    @Option(names = "--weights", description = "With --model: a state_dict (.pth or .safetensors).") Path weights;
    @Option(names = "--labels", description = "With --weights: class names, one per line (default: ImageNet's for 1000 classes).") Path labels;
    @Option(names = "--name", description = "The model's name in URLs (default: the model name).") String name;
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to bind (default ${DEFAULT-VALUE}).") String host;
    @Option(names = "--port", defaultValue = "8080", description = "Port, 0 for any free one (default ${DEFAULT-VALUE}).") int port;
    @Option(names = "--max-batch", defaultValue = "16", description = "Most images per forward pass (default ${DEFAULT-VALUE}).") int maxBatch;
    @Option(names = "--max-delay-ms", defaultValue = "5", description = "Longest a request waits for company (default ${DEFAULT-VALUE}).") int maxDelay;
    @Option(names = "--queue", defaultValue = "64", description = "Requests that may wait; more get 503 (default ${DEFAULT-VALUE}).") int queue;
    @Option(names = "--max-body-bytes", defaultValue = "16777216", description = "Largest request body (default ${DEFAULT-VALUE}).") long maxBody;
    @Option(names = "--timeout-ms", defaultValue = "30000", description = "A request's deadline (default ${DEFAULT-VALUE}).") long timeout;
    @Option(names = "--threads", description = "Compute threads (default: all cores).") Integer threads;
    @Option(names = "--for-seconds", defaultValue = "0", description = "Stop (gracefully) after this long; 0: until SIGTERM.") int forSeconds;

    @Override
    public Integer call() throws Exception {
        if ((checkpoint == null) == (weights == null || model == null)) {
            throw new IllegalArgumentException("give either --checkpoint C, or --model NAME and --weights W");
        }
        if (threads != null) Parallel.setThreads(threads);
        TrainedModel tm;
        if (checkpoint != null) {
            tm = TrainedModel.load(checkpoint);
        } else {
            List<String> names = labels == null ? null : Files.readAllLines(labels).stream().filter(l -> !l.isBlank()).toList();
            tm = TrainedModel.fromWeights(model, weights, names);
        }
        Predictor p = checkpoint != null ? Predictor.of(tm, maxBatch) : Predictor.forModel(tm, maxBatch);
        int[] shape = p.preprocess(Tensor.zeros(tm.inChannels(), 320, 320)).shape(); // what preprocessing makes of any image
        String served = name != null ? name : tm.config().model;
        InferenceServer.Options o = new InferenceServer.Options(host, port, maxBatch, maxDelay, queue, maxBody, timeout);
        InferenceServer server = InferenceServer.start(List.of(new ServedModel(served, p, shape)), o);
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            server.close();
            stopped.countDown();
        });
        Runtime.getRuntime().addShutdownHook(hook);
        System.out.printf("serving %s (%d classes, input [N, %d, %d, %d]) at http://%s:%d/ (batches of up to %d within %d ms, queue %d)%n",
                served, p.classes().size(), shape[0], shape[1], shape[2], host, server.port(), maxBatch, maxDelay, queue);
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
