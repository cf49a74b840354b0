package org.resnet4j.peers;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.bench.Benchmarks;
import org.resnet4j.io.onnx.Onnx;
import org.resnet4j.kernels.Parallel;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Module;
import org.resnet4j.segmentation.SegmentationModels;
import org.resnet4j.tensor.Tensor;

/**
 * {@code resnet4j bench --against onnxruntime}: the same model, exported by {@link Onnx}
 * (BN folded), timed in ONNX Runtime for Java and in resnet4j in one process, alternating
 * (A B A B ...), on the same input and thread count; the medians and their ratio come from one
 * run, so machine noise hits both. ONNX Runtime ships native code, which is why this lives
 * outside the resnet4j jar: the launcher puts it on the class path for this command only.
 */
public final class OnnxRuntimeComparison {
    private OnnxRuntimeComparison() {}

    /** Rows: resnet4j's median, ONNX Runtime's median, then the ratio (both keyed as the anchor). */
    public static List<Map<String, Object>> run(String model, int batch, int size, int inChannels, double minSeconds, int rounds)
            throws IOException, OrtException {
        // a segmenter: its forward is "out" alone, the graph's first output
        Module m = SegmentationModels.all().containsKey(model)
                ? SegmentationModels.create(model, new SegmentationModels.Config(SegmentationModels.get(model).defaultClasses(), false, inChannels))
                : Models.create(model, ModelConfig.defaults(Models.get(model).defaultClasses()).withInChannels(inChannels));
        m.eval();
        Tensor x = Tensor.randn(0, batch, inChannels, size, size);
        Path file = Files.createTempFile("resnet4j-" + model, ".onnx");
        try {
            Onnx.export(m, new int[] {batch, inChannels, size, size}, file, Onnx.Options.defaults());
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
                o.setIntraOpNumThreads(Parallel.threads());
                o.setInterOpNumThreads(1);
                o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                try (OrtSession s = env.createSession(file.toString(), o);
                     OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.data()), Arrays.stream(x.shape()).asLongStream().toArray())) {
                    Runnable ours = () -> {
                        try (var g = GradMode.noGrad()) {
                            m.call(Variable.constant(x));
                        }
                    };
                    Runnable ort = () -> {
                        try (OrtSession.Result r = s.run(Map.of(Onnx.INPUT, in))) {
                            r.get(0);
                        } catch (OrtException e) {
                            throw new IllegalStateException(e);
                        }
                    };
                    double[] diff = maxDiff(m, x, s, in);
                    double[] a = new double[rounds], b = new double[rounds];
                    for (int i = 0; i < rounds; i++) {
                        a[i] = batch / Benchmarks.time(ours, minSeconds, 2);
                        b[i] = batch / Benchmarks.time(ort, minSeconds, 2);
                    }
                    double mine = median(a), theirs = median(b);
                    List<Map<String, Object>> rows = new ArrayList<>();
                    rows.add(row("resnet4j", model, batch, size, mine, a));
                    rows.add(row("onnxruntime " + OrtEnvironment.getEnvironment().getVersion(), model, batch, size, theirs, b));
                    Map<String, Object> ratio = new LinkedHashMap<>();
                    ratio.put("what", model + " inference");
                    ratio.put("batch", batch);
                    ratio.put("ratio_resnet4j_to_onnxruntime", Math.round(mine / theirs * 1000) / 1000.0);
                    ratio.put("max_abs_output_diff", (float) diff[0]);
                    ratio.put("max_output_diff_relative", (float) (diff[0] / diff[1])); // to resnet4j's largest |value|
                    ratio.put("threads", Parallel.threads());
                    rows.add(ratio);
                    return rows;
                }
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** The largest |resnet4j - ONNX Runtime| over the first output, and resnet4j's largest |value|. */
    private static double[] maxDiff(Module m, Tensor x, OrtSession s, OnnxTensor in) throws OrtException {
        float[] mine;
        try (var g = GradMode.noGrad()) {
            mine = m.call(Variable.constant(x)).value().data();
        }
        try (OrtSession.Result r = s.run(Map.of(Onnx.INPUT, in))) {
            FloatBuffer theirs = ((OnnxTensor) r.get(0)).getFloatBuffer();
            double d = 0, max = 0;
            for (int i = 0; i < mine.length; i++) {
                d = Math.max(d, Math.abs(mine[i] - theirs.get(i)));
                max = Math.max(max, Math.abs(mine[i]));
            }
            return new double[] {d, max};
        }
    }

    private static Map<String, Object> row(String engine, String model, int batch, int size, double median, double[] all) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("what", model + " inference");
        r.put("engine", engine);
        r.put("batch", batch);
        r.put("size", size);
        r.put("img_per_s", Math.round(median * 100) / 100.0);
        r.put("rounds", Arrays.stream(all).map(v -> Math.round(v * 100) / 100.0).toArray());
        return r;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
