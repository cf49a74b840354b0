package org.resnet4j.cli;

import org.resnet4j.io.json.Json;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.resnet4j.bench.Benchmarks;
import org.resnet4j.kernels.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = BenchServeCommand.class,
        description = {"Speed, as JSON lines with the keys of the PyTorch anchor (what, batch, size, img_per_s).",
                "  bench --model resnet50 --batch 16            inference",
                "  bench --model resnet20 --batch 128 --train   one SGD training step",
                "  bench gemm                                   sgemm GFLOPS, n = 512, 1024, 2048",
                "  bench peak                                   this machine's FMA peak through the Vector API",
                "  bench --model resnet50 --against onnxruntime the same model in ONNX Runtime, alternating (through ./resnet4j)",
                "  bench serve --model resnet50                 the HTTP server under load on loopback (see bench serve --help)"})
final class BenchCommand implements Callable<Integer> {
    @Parameters(arity = "0..1", paramLabel = "KIND", description = "gemm | peak (default: a model).") String kind;
    @Option(names = "--model", defaultValue = "resnet50") String model;
    @Option(names = "--batch", defaultValue = "1") int batch;
    @Option(names = "--size", description = "Input height and width (default: the model's).") Integer size;
    @Option(names = "--in-channels", defaultValue = "3") int inChannels;
    @Option(names = "--train", description = "Time a training step instead of inference.") boolean train;
    @Option(names = "--threads", description = "Compute threads (default: all cores).") Integer threads;
    @Option(names = "--min-seconds", defaultValue = "3", description = "Minimum timed seconds per figure (default ${DEFAULT-VALUE}).") double minSeconds;
    @Option(names = "--warmup-seconds", defaultValue = "10", description = "Warm-up before each figure, so the JIT has compiled the hot loops (default ${DEFAULT-VALUE}).") double warmupSeconds;
    @Option(names = "--profile", description = "After the figure, time as many calls again per op and layer shape and print the table "
            + "(a per-layer profile: ms per call, share, GFLOPS of each convolution).") boolean profile;
    @Option(names = "--json", description = "JSON lines only (the default output is JSON lines too).") boolean json;
    @Option(names = "--against", description = "onnxruntime: time the exported model in ONNX Runtime too, alternating, and print the ratio.") String against;
    @Option(names = "--rounds", defaultValue = "3", description = "With --against: alternating rounds (default ${DEFAULT-VALUE}).") int rounds;

    @Override
    public Integer call() throws Exception {
        if (threads != null) Parallel.setThreads(threads);
        Benchmarks.setWarmupSeconds(warmupSeconds);
        if ("gemm".equals(kind)) {
            for (int n : List.of(512, 1024, 2048)) System.out.println(Json.write(Benchmarks.gemm(n, minSeconds)));
            return 0;
        }
        if ("peak".equals(kind)) {
            System.out.println(Json.write(Benchmarks.peak(minSeconds)));
            return 0;
        }
        if (kind != null) throw new IllegalArgumentException("unknown benchmark '" + kind + "': use gemm, peak or --model NAME");
        if (batch < 1) throw new IllegalArgumentException("--batch must be >= 1, got " + batch);
        if (size != null && size < 1) throw new IllegalArgumentException("--size must be >= 1, got " + size);
        if (inChannels < 1) throw new IllegalArgumentException("--in-channels must be >= 1, got " + inChannels);
        if (org.resnet4j.segmentation.SegmentationModels.all().containsKey(model)) {
            // a dense model: one image of --size (default 520, torchvision's), both outputs
            if (train || batch != 1) throw new IllegalArgumentException(model + ": bench times a segmenter's inference at batch 1");
            int hw = size != null ? size : org.resnet4j.segmentation.SegmentationModels.get(model).defaultSize();
            if (against != null) return against(hw); // "out" beside ONNX Runtime's, random weights
            Benchmarks.setProfile(profile);
            System.out.println(Json.write(Benchmarks.segmentation(model, hw, hw, minSeconds)));
            if (profile) System.out.print(Benchmarks.lastProfile());
            return 0;
        }
        if (model.startsWith("fcos_")) {
            // a detector: one 480x640 image by default (the anchor's), its transform resizing it
            if (train || against != null || batch != 1) throw new IllegalArgumentException(model + ": bench times a detector's inference at batch 1");
            int h = size != null ? size : 480, w = size != null ? size : 640;
            Benchmarks.setProfile(profile);
            System.out.println(Json.write(Benchmarks.detection(model, h, w, minSeconds)));
            if (profile) System.out.print(Benchmarks.lastProfile());
            return 0;
        }
        int s = size != null ? size : org.resnet4j.models.Models.get(model).defaultSize();
        if (against != null) return against(s);
        Benchmarks.setProfile(profile);
        Map<String, Object> r = train ? Benchmarks.training(model, batch, s, inChannels, minSeconds)
                : Benchmarks.inference(model, batch, s, inChannels, minSeconds);
        System.out.println(Json.write(r));
        if (profile) System.out.print(Benchmarks.lastProfile());
        return 0;
    }

    /**
     * ONNX Runtime carries native code, so it is not in the resnet4j jar: the launcher adds it
     * (and src/bench) to the class path when it sees --against, and the comparison is looked up
     * by name here.
     */
    @SuppressWarnings("unchecked")
    private int against(int s) throws Exception {
        if (!against.equals("onnxruntime")) throw new IllegalArgumentException("--against: only onnxruntime is supported, got '" + against + "'");
        if (train) throw new IllegalArgumentException("--against onnxruntime times inference only (ONNX Runtime does not train)");
        if (rounds < 1) throw new IllegalArgumentException("--rounds must be >= 1, got " + rounds);
        java.lang.reflect.Method run;
        try {
            run = Class.forName("org.resnet4j.peers.OnnxRuntimeComparison")
                    .getMethod("run", String.class, int.class, int.class, int.class, double.class, int.class);
        } catch (ClassNotFoundException | NoClassDefFoundError e) {
            throw new IllegalStateException("ONNX Runtime is not on the class path (" + e.getMessage() + "): run this through the "
                    + "./resnet4j launcher, which adds it (from Maven) for `bench --against` only");
        }
        java.util.List<Map<String, Object>> rows;
        try {
            rows = (java.util.List<Map<String, Object>>) run.invoke(null, model, batch, s, inChannels, minSeconds, rounds);
        } catch (java.lang.reflect.InvocationTargetException e) {
            if (e.getCause() instanceof Exception cause) throw cause;
            throw e;
        }
        for (Map<String, Object> r : rows) System.out.println(Json.write(r));
        return 0;
    }
}
