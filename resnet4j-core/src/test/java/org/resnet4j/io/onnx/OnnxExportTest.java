package org.resnet4j.io.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.UpsampleOp;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.AdaptiveAvgPool2d;
import org.resnet4j.nn.AvgPool2d;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Dropout;
import org.resnet4j.nn.Flatten;
import org.resnet4j.nn.Identity;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.Linear;
import org.resnet4j.nn.MaxPool2d;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.ReLU;
import org.resnet4j.nn.Sequential;
import org.resnet4j.nn.Upsample;
import org.resnet4j.tensor.Tensor;

/**
 * Exports models with random weights and random BN running statistics (so folding is really
 * exercised), runs the files in ONNX Runtime and compares with resnet4j's eval forward. The batch
 * is checked at 2 and 3 against one symbolic-batch file. Eval mode treats every sample alone, so
 * the batch-2 reference is the first two rows of the batch-3 forward. Its helpers are public for
 * the command line's export test.
 */
public class OnnxExportTest {
    static final double TOL = 1e-4; // relative to the output's max |value|
    static OrtEnvironment env;
    static OrtSession.SessionOptions sessionOptions;

    @TempDir
    Path dir;

    @BeforeAll
    public static void startRuntime() throws OrtException {
        env = OrtEnvironment.getEnvironment();
        sessionOptions = new OrtSession.SessionOptions();
        sessionOptions.setIntraOpNumThreads(1);
        sessionOptions.setInterOpNumThreads(1);
    }

    @AfterAll
    public static void stopRuntime() {
        sessionOptions.close();
    }

    // ------------------------------------------------------------------ helpers

    /** Non-trivial BN affine parameters and running statistics, so that BN is not the identity. */
    public static void randomizeBatchNorms(Module m, long seed) {
        for (Module x : m.namedModules().values()) {
            if (x instanceof BatchNorm2d bn) {
                int c = bn.channels;
                bn.weight.value().copyFrom(Tensor.uniform(seed++, 0.5f, 1.5f, c));
                bn.bias.value().copyFrom(scaled(Tensor.randn(seed++, c), 0.2f));
                bn.runningMean.copyFrom(scaled(Tensor.randn(seed++, c), 0.2f));
                bn.runningVar.copyFrom(Tensor.uniform(seed++, 0.5f, 2f, c));
            }
        }
    }

    static Tensor scaled(Tensor t, float k) {
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) d[i] *= k;
        return t;
    }

    public static Tensor forward(Module m, Tensor x) {
        try (var _ = GradMode.noGrad()) {
            return m.call(Variable.constant(x)).value();
        }
    }

    /** Runs the file on {@code x}; returns the flat output "output", checking its shape when {@code outShape} is given. */
    public static float[] runOrt(Path file, Tensor x, long[] outShape) throws OrtException {
        Tensor y = runOrtAll(file, x).get(Onnx.OUTPUT);
        if (outShape != null) assertArrayEquals(outShape, Arrays.stream(y.shape()).asLongStream().toArray());
        return y.data();
    }

    /** Runs the file on {@code x}; every output by name, in the graph's order, with the shapes ONNX Runtime gives. */
    public static Map<String, Tensor> runOrtAll(Path file, Tensor x) throws OrtException {
        try (OrtSession s = env.createSession(file.toString(), sessionOptions);
             OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.data()), Arrays.stream(x.shape()).asLongStream().toArray());
             OrtSession.Result r = s.run(Map.of(Onnx.INPUT, in))) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (var e : r) {
                OnnxTensor y = (OnnxTensor) e.getValue();
                FloatBuffer fb = y.getFloatBuffer();
                float[] data = new float[fb.remaining()];
                fb.get(data);
                out.put(e.getKey(), Tensor.of(data, Arrays.stream(y.getInfo().getShape()).mapToInt(Math::toIntExact).toArray()));
            }
            return out;
        }
    }

    static Tensor firstRows(Tensor t, int n) {
        int[] s = t.shape().clone();
        int per = t.size() / s[0];
        s[0] = n;
        return Tensor.of(Arrays.copyOf(t.data(), n * per), s);
    }

    public static void assertClose(Tensor expected, float[] actual, String what) {
        assertEquals(expected.size(), actual.length, what + ": size");
        double max = expected.maxAbs(), diff = 0;
        for (int i = 0; i < actual.length; i++) diff = Math.max(diff, Math.abs(expected.data()[i] - actual[i]));
        assertTrue(max > 0, what + ": all-zero reference output");
        assertTrue(diff <= TOL * max, what + ": max |onnx - resnet4j| = " + diff + " > " + TOL + " * " + max);
    }

    /** Exports with dynamic batch and checks ONNX Runtime at batch 2 and 3 against {@code y3 = model(x3)}. */
    void checkParity(Module model, Tensor x3, Tensor y3, boolean fold, String what) throws Exception {
        int[] s = x3.shape();
        Path file = dir.resolve(what.replaceAll("[^A-Za-z0-9_.-]", "_") + (fold ? "-folded" : "-bn") + ".onnx");
        Onnx.export(model, new int[] {-1, s[1], s[2], s[3]}, file, new Onnx.Options(fold, true));
        long classes = y3.dim(1);
        assertClose(y3, runOrt(file, x3, new long[] {3, classes}), what + " fold=" + fold + " batch 3");
        assertClose(firstRows(y3, 2), runOrt(file, firstRows(x3, 2), new long[] {2, classes}), what + " fold=" + fold + " batch 2");
    }

    // ------------------------------------------------------------------ a minimal ONNX reader

    /** The fields of one protobuf message: number -> values (Long for varints and fixed ints, byte[] otherwise). */
    static Map<Integer, List<Object>> parse(byte[] b, Set<Integer> keep) {
        Map<Integer, List<Object>> m = new HashMap<>();
        int[] pos = {0};
        while (pos[0] < b.length) {
            long key = varint(b, pos);
            int field = (int) (key >>> 3), wire = (int) (key & 7);
            Object v;
            switch (wire) {
                case 0 -> v = varint(b, pos);
                case 1, 5 -> {
                    int n = wire == 1 ? 8 : 4;
                    long x = 0;
                    for (int i = n - 1; i >= 0; i--) x = (x << 8) | (b[pos[0] + i] & 0xFF);
                    pos[0] += n;
                    v = x;
                }
                case 2 -> {
                    int len = (int) varint(b, pos);
                    v = keep.contains(field) ? Arrays.copyOfRange(b, pos[0], pos[0] + len) : null;
                    pos[0] += len;
                }
                default -> throw new AssertionError("wire type " + wire);
            }
            if (v != null) m.computeIfAbsent(field, k -> new ArrayList<>()).add(v);
        }
        return m;
    }

    static long varint(byte[] b, int[] pos) {
        long v = 0;
        for (int shift = 0; ; shift += 7) {
            byte x = b[pos[0]++];
            v |= (long) (x & 0x7F) << shift;
            if (x >= 0) return v;
        }
    }

    static String str(Object o) {
        return new String((byte[]) o, StandardCharsets.UTF_8);
    }

    /** The op_type of every node, in order; also checks the model header. */
    public static List<String> opTypes(Path file) throws IOException {
        Map<Integer, List<Object>> model = parse(Files.readAllBytes(file), Set.of(2, 7, 8));
        assertEquals(8L, model.get(1).getFirst(), "ir_version");
        assertEquals("resnet4j", str(model.get(2).getFirst()), "producer_name");
        Map<Integer, List<Object>> opset = parse((byte[]) model.get(8).getFirst(), Set.of(1));
        assertEquals(17L, opset.get(2).getFirst(), "opset version");
        Map<Integer, List<Object>> graph = parse((byte[]) model.get(7).getFirst(), Set.of(1));
        List<String> ops = new ArrayList<>();
        for (Object node : graph.get(1)) ops.add(str(parse((byte[]) node, Set.of(4)).get(4).getFirst()));
        return ops;
    }

    // ------------------------------------------------------------------ registered models

    static Stream<Arguments> models() {
        ModelConfig cifar = ModelConfig.defaults(10), imagenet = ModelConfig.defaults(1000);
        return Stream.of(
                Arguments.of("resnet8", cifar, 32),                                                     // option A: Slice + Pad
                Arguments.of("resnet18", imagenet, 72),                                                 // odd maps: 9, 5, 3
                Arguments.of("resnet50", imagenet, 64),
                Arguments.of("resnext50_32x4d", imagenet, 64),                                          // grouped 3x3
                Arguments.of("preact_resnet18", imagenet, 64),
                Arguments.of("resnet18", ModelConfig.defaults(7).withInChannels(1), 28),                // 1 channel, 7 classes
                Arguments.of("resnet20", ModelConfig.defaults(7).withInChannels(1).withShortcut(ModelConfig.Shortcut.B), 28),
                Arguments.of("plain20", cifar, 24),                                                     // no shortcuts at all
                Arguments.of("preact_resnet164", cifar.withDropout(0.3f), 16));                         // CIFAR pre-act bottlenecks, dropout
    }

    @ParameterizedTest(name = "{0} {1} at {2}x{2}")
    @MethodSource("models")
    void registeredModelsMatchResnet4jWithAndWithoutFolding(String name, ModelConfig cfg, int size) throws Exception {
        Init.manualSeed(17);
        Module model = Models.create(name, cfg);
        randomizeBatchNorms(model, 1000);
        model.eval();
        Tensor x = Tensor.randn(5, 3, cfg.inChannels(), size, size);
        Tensor y = forward(model, x);
        assertArrayEquals(new int[] {3, cfg.numClasses()}, y.shape());
        String what = name + "-" + cfg.inChannels() + "x" + size;
        checkParity(model, x, y, true, what);
        checkParity(model, x, y, false, what);

        // Folding removes every BN that follows a conv; pre-activation BNs (bn1 of each block, final_bn) stay.
        long bns = model.namedModules().values().stream().filter(m -> m instanceof BatchNorm2d).count();
        long unfoldable = name.startsWith("preact")
                ? model.namedModules().keySet().stream().filter(k -> k.matches("layer\\d+\\.\\d+\\.bn1|final_bn")).count() : 0;
        List<String> folded = opTypes(dir.resolve(what + "-folded.onnx")), kept = opTypes(dir.resolve(what + "-bn.onnx"));
        assertEquals(unfoldable, folded.stream().filter("BatchNormalization"::equals).count(), "BN nodes left after folding");
        assertEquals(bns, kept.stream().filter("BatchNormalization"::equals).count(), "BN nodes without folding");
        assertEquals(name.equals("resnet8"), folded.contains("Pad"), "option A shortcut as Pad");
        assertFalse(folded.contains("Dropout"));
    }

    // ------------------------------------------------------------------ layers outside the registered models

    @Test
    void everySupportedLayerMatches() throws Exception {
        Init.manualSeed(3);
        Sequential net = new Sequential(
                new Conv2d(4, 8, 3, 1, 2, 2, 2, true),        // dilated, grouped, with bias
                new BatchNorm2d(8),                           // folded into a conv with a bias
                new ReLU(),
                new MaxPool2d(3, 2, 0, true),                 // 16 -> 8 (floor mode would give 7)
                new Upsample(2, UpsampleOp.Mode.NEAREST),     // 16
                new AvgPool2d(3, 2, 1),                       // 8, padding counted in the divisor
                new Upsample(3, UpsampleOp.Mode.BILINEAR),    // 24
                new Conv2d(8, 8, 1, 1, 0),
                new BatchNorm2d(8),                           // folded into a bias-free conv
                new BatchNorm2d(8),                           // after a BN: stays a node
                new Conv2d(8, 8, 3, 3, 2),                    // 9
                new MaxPool2d(2, 2, 1, true),                 // 5 (PyTorch drops the window that starts in the padding)
                new AdaptiveAvgPool2d(1, 5),                  // an AveragePool with kernel (5, 1)
                new Flatten(),
                new Dropout(0.5f),
                new Identity(),
                new Linear(40, 7));
        randomizeBatchNorms(net, 77);
        net.eval();
        Tensor x = Tensor.randn(9, 3, 4, 16, 16);
        Tensor y = forward(net, x);
        assertArrayEquals(new int[] {3, 7}, y.shape());
        checkParity(net, x, y, true, "layers");
        checkParity(net, x, y, false, "layers");
        List<String> ops = opTypes(dir.resolve("layers-folded.onnx"));
        assertEquals(List.of("Conv", "Relu", "MaxPool", "Resize", "AveragePool", "Resize", "Conv", "BatchNormalization", "Conv",
                "MaxPool", "AveragePool", "Flatten", "Gemm"), ops);
    }

    // ------------------------------------------------------------------ batch, options, refusals

    @Test
    void staticBatchAcceptsOnlyItsBatchSize() throws Exception {
        Init.manualSeed(4);
        Module model = Models.create("resnet8");
        randomizeBatchNorms(model, 40);
        model.train(); // export is eval semantics whatever the mode; the mode is left as it was
        Path file = dir.resolve("static.onnx");
        Onnx.export(model, new int[] {2, 3, 32, 32}, file, Onnx.Options.defaults().withDynamicBatch(false));
        assertTrue(model.isTraining());
        model.eval();
        Tensor x = Tensor.randn(6, 2, 3, 32, 32);
        assertClose(forward(model, x), runOrt(file, x, new long[] {2, 10}), "static batch 2");
        OrtException e = assertThrows(OrtException.class, () -> runOrt(file, Tensor.randn(6, 3, 3, 32, 32), null));
        assertTrue(e.getMessage().contains("dimension"), e.getMessage());
        try (OrtSession s = env.createSession(file.toString(), sessionOptions)) {
            assertArrayEquals(new long[] {2, 3, 32, 32}, ((TensorInfo) s.getInputInfo().get("input").getInfo()).getShape());
            assertEquals("resnet4j", s.getMetadata().getProducerName());
        }
        Path dyn = dir.resolve("dynamic.onnx");
        Onnx.export(model, new int[] {1, 3, 32, 32}, dyn, Onnx.Options.defaults());
        try (OrtSession s = env.createSession(dyn.toString(), sessionOptions)) {
            assertEquals(-1L, ((TensorInfo) s.getInputInfo().get("input").getInfo()).getShape()[0]);
            assertArrayEquals(new long[] {-1, 10}, ((TensorInfo) s.getOutputInfo().get("output").getInfo()).getShape());
        }
    }

    @Test
    void refusesWhatItCannotExport() throws IOException {
        Path file = dir.resolve("refused.onnx");
        Module unknown = new Sequential(new Conv2d(3, 4, 3, 1, 1), new Module() {
            @Override
            public Variable forward(Variable x) {
                return x;
            }
        });
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Onnx.export(unknown, new int[] {1, 3, 8, 8}, file, Onnx.Options.defaults()));
        assertTrue(e.getMessage().contains("OnnxExportTest$") && e.getMessage().contains("'1'"), e.getMessage());

        Module r8 = Models.create("resnet8");
        e = assertThrows(IllegalArgumentException.class,
                () -> Onnx.export(r8, new int[] {1, 1, 32, 32}, file, Onnx.Options.defaults()));
        assertTrue(e.getMessage().contains("conv1") && e.getMessage().contains("3 input channels"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Onnx.export(r8, new int[] {-1, 3, 32, 32}, file, Onnx.Options.defaults().withDynamicBatch(false)));
        assertTrue(e.getMessage().contains("static batch"), e.getMessage());

        Module meta = Models.get("resnet8").createMeta(ModelConfig.defaults(10));
        e = assertThrows(IllegalArgumentException.class,
                () -> Onnx.export(meta, new int[] {1, 3, 32, 32}, file, Onnx.Options.defaults()));
        assertTrue(e.getMessage().contains("meta"), e.getMessage());

        Module pool = new Sequential(new AdaptiveAvgPool2d(2, 2));
        e = assertThrows(IllegalArgumentException.class,
                () -> Onnx.export(pool, new int[] {1, 3, 5, 5}, file, Onnx.Options.defaults()));
        assertTrue(e.getMessage().contains("AdaptiveAvgPool2d"), e.getMessage());

        assertFalse(Files.exists(file));
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count(), "no temp file left behind");
        }
    }
}
