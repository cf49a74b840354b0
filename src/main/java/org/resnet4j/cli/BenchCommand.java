package org.resnet4j.cli;

import com.google.gson.Gson;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.resnet4j.bench.Benchmarks;
import org.resnet4j.kernels.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Speed, as JSON lines with the keys of the PyTorch anchor (what, batch, size, img_per_s).",
                "  bench --model resnet50 --batch 16            inference",
                "  bench --model resnet20 --batch 128 --train   one SGD training step",
                "  bench gemm                                   sgemm GFLOPS, n = 512, 1024, 2048",
                "  bench peak                                   this machine's FMA peak through the Vector API"})
final class BenchCommand implements Callable<Integer> {
    @Parameters(arity = "0..1", paramLabel = "KIND", description = "gemm | peak (default: a model).") String kind;
    @Option(names = "--model", defaultValue = "resnet50") String model;
    @Option(names = "--batch", defaultValue = "1") int batch;
    @Option(names = "--size", description = "Input height and width (default: the model's).") Integer size;
    @Option(names = "--in-channels", defaultValue = "3") int inChannels;
    @Option(names = "--train", description = "Time a training step instead of inference.") boolean train;
    @Option(names = "--threads", description = "Compute threads (default: all cores).") Integer threads;
    @Option(names = "--min-seconds", defaultValue = "3", description = "Minimum timed seconds per figure (default ${DEFAULT-VALUE}).") double minSeconds;
    @Option(names = "--json", description = "JSON lines only (the default output is JSON lines too).") boolean json;

    @Override
    public Integer call() {
        if (threads != null) Parallel.setThreads(threads);
        Gson gson = new Gson();
        if ("gemm".equals(kind)) {
            for (int n : List.of(512, 1024, 2048)) System.out.println(gson.toJson(Benchmarks.gemm(n, minSeconds)));
            return 0;
        }
        if ("peak".equals(kind)) {
            System.out.println(gson.toJson(Benchmarks.peak(minSeconds)));
            return 0;
        }
        if (kind != null) throw new IllegalArgumentException("unknown benchmark '" + kind + "': use gemm, peak or --model NAME");
        int s = size != null ? size : org.resnet4j.models.Models.get(model).defaultSize();
        Map<String, Object> r = train ? Benchmarks.training(model, batch, s, inChannels, minSeconds)
                : Benchmarks.inference(model, batch, s, inChannels, minSeconds);
        System.out.println(gson.toJson(r));
        return 0;
    }
}
