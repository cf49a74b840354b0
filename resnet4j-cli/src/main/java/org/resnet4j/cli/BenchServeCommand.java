package org.resnet4j.cli;

import java.util.List;
import java.util.concurrent.Callable;
import org.resnet4j.bench.Benchmarks;
import org.resnet4j.bench.ServeLoad;
import org.resnet4j.io.json.Json;
import org.resnet4j.kernels.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"The serving benchmark, on loopback only: the real server and closed-loop clients in this process, beside the",
                "offline `bench` figures of the same model, in alternating rounds; then an open-loop overload at twice the",
                "rate the server sustained; then, with --soak-minutes, a soak that watches the resident set. JSON lines."})
final class BenchServeCommand implements Callable<Integer> {
    @Option(names = "--model", defaultValue = "resnet50", description = "Model (random weights; default ${DEFAULT-VALUE}).") String model;
    @Option(names = "--clients", split = ",", defaultValue = "1,4,16,64", description = "Concurrent clients, each a figure (default ${DEFAULT-VALUE}).") List<Integer> clients;
    @Option(names = "--seconds", defaultValue = "20", description = "Measured seconds per figure, after a fifth as long of warm-up (default ${DEFAULT-VALUE}).") double seconds;
    @Option(names = "--max-batch", defaultValue = "16", description = "The server's --max-batch, and the offline batch (default ${DEFAULT-VALUE}).") int maxBatch;
    @Option(names = "--max-delay-ms", defaultValue = "5", description = "The server's --max-delay-ms (default ${DEFAULT-VALUE}).") int maxDelay;
    @Option(names = "--queue", defaultValue = "64", description = "The server's --queue (default ${DEFAULT-VALUE}).") int queue;
    @Option(names = "--wire", defaultValue = "binary", description = "binary (KServe v2 with binary tensors), json (JSON tensors) or jpeg "
            + "(image uploads to /v1/.../predict) (default ${DEFAULT-VALUE}).") String wire;
    @Option(names = "--rounds", defaultValue = "1", description = "Alternating rounds of offline and served figures; medians reported (default ${DEFAULT-VALUE}).") int rounds;
    @Option(names = "--overload-seconds", defaultValue = "20", description = "Seconds of open-loop load at twice the sustained rate; 0: none (default ${DEFAULT-VALUE}).") double overloadSeconds;
    @Option(names = "--soak-minutes", defaultValue = "0", description = "Minutes of soak at 16 clients, RSS sampled every 10 s; 0: none, else >= 2 (default ${DEFAULT-VALUE}).") double soakMinutes;
    @Option(names = "--warmup-seconds", defaultValue = "10", description = "Warm-up before each offline figure (default ${DEFAULT-VALUE}).") double warmupSeconds;
    @Option(names = "--client", defaultValue = "socket", description = "The load clients' HTTP: socket (a plain HTTP/1.1 client on kept-alive "
            + "sockets, one write per request) or jdk (java.net.http.HttpClient) (default ${DEFAULT-VALUE}).") String client;
    @Option(names = "--threads", description = "Compute threads (default: all cores).") Integer threads;

    @Override
    public Integer call() throws Exception {
        if (threads != null) Parallel.setThreads(threads);
        if (clients.isEmpty() || clients.stream().anyMatch(c -> c < 1)) throw new IllegalArgumentException("--clients must be positive counts, got " + clients);
        if (!(seconds >= 1)) throw new IllegalArgumentException("--seconds must be >= 1, got " + seconds);
        if (rounds < 1) throw new IllegalArgumentException("--rounds must be >= 1, got " + rounds);
        if (soakMinutes != 0 && soakMinutes < 2) throw new IllegalArgumentException("--soak-minutes must be 0 or >= 2 (RSS is compared with its value after 1 min), got " + soakMinutes);
        if (overloadSeconds < 0) throw new IllegalArgumentException("--overload-seconds must be >= 0, got " + overloadSeconds);
        Benchmarks.setWarmupSeconds(warmupSeconds);
        ServeLoad.run(new ServeLoad.Settings(model, clients, seconds, maxBatch, maxDelay, queue, wire, overloadSeconds, soakMinutes, rounds, client),
                r -> {
                    System.out.println(Json.write(r));
                    System.out.flush();
                });
        return 0;
    }
}
