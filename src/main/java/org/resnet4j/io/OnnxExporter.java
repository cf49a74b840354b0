package org.resnet4j.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import org.resnet4j.io.OnnxProto.Msg;
import org.resnet4j.kernels.Pool;
import org.resnet4j.models.BasicBlock;
import org.resnet4j.models.Bottleneck;
import org.resnet4j.models.CifarResNet;
import org.resnet4j.models.PreActResNet;
import org.resnet4j.models.ResNet;
import org.resnet4j.nn.AdaptiveAvgPool2d;
import org.resnet4j.nn.AvgPool2d;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Dropout;
import org.resnet4j.nn.Flatten;
import org.resnet4j.nn.Identity;
import org.resnet4j.nn.Linear;
import org.resnet4j.nn.MaxPool2d;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.ReLU;
import org.resnet4j.nn.Sequential;
import org.resnet4j.nn.Upsample;
import org.resnet4j.tensor.Tensor;

/**
 * Writes a model as an ONNX file (IR version 8, default-domain opset 17) for ONNX Runtime,
 * OpenVINO, TensorRT and the like, in pure Java: the protobuf encoding is written by hand
 * ({@link OnnxProto}).
 *
 * <p>The graph is built structurally: the exporter knows the module types of this library and
 * emits, for each, the ONNX operators its {@code forward} performs in eval mode (running BN
 * statistics, dropout off), in the same order. Residual blocks read their layers through
 * {@link Module#children()} under their registered names ({@code conv1}, {@code bn1},
 * {@code downsample}, {@code shortcut}, ...). A module type it does not know, or a known one
 * whose children are not the expected ones, is refused with an {@link IllegalArgumentException}
 * naming it and its path, rather than exported wrongly.
 *
 * <p>The graph has one input {@code input} [N, C, H, W] and one output {@code output}; with
 * {@link Options#dynamicBatch()} the batch dimension is the symbol {@code N}, otherwise the given
 * number. Height and width are fixed at export time (they decide the pooling and padding
 * attributes). Initializers carry the model's state_dict names ({@code layer1.0.conv1.weight},
 * {@code layer1.0.bn1.running_mean}, ...). With {@link Options#foldBatchNorm()}, a BN that
 * directly follows a conv whose output nothing else reads is folded into that conv: the
 * initializers {@code <conv>.weight} and {@code <conv>.bias} then hold the folded values, as
 * torch.ao.quantization.fuse_modules leaves them; a BN with no such conv before it (the
 * pre-activation BNs of PreActResNet) stays a BatchNormalization node.
 */
public final class OnnxExporter {
    public static final int OPSET_VERSION = 17;
    public static final long IR_VERSION = 8;
    public static final String PRODUCER = "resnet4j";
    public static final String INPUT = "input", OUTPUT = "output", BATCH_SYMBOL = "N";
    /** protobuf refuses to parse a message over 2 GiB; bigger models need ONNX external data, not written here. */
    private static final long MAX_MODEL_BYTES = Integer.MAX_VALUE;

    private OnnxExporter() {}

    /**
     * @param foldBatchNorm fold each eval-mode BN into the conv before it (true), or emit
     *                      BatchNormalization nodes (false)
     * @param dynamicBatch  the batch dimension is the symbol "N" (true) or the batch size given
     *                      in the input shape (false)
     */
    public record Options(boolean foldBatchNorm, boolean dynamicBatch) {
        /** Folded BN, dynamic batch: what an inference runtime wants. */
        public static Options defaults() {
            return new Options(true, true);
        }

        public Options withFoldBatchNorm(boolean fold) {
            return new Options(fold, dynamicBatch);
        }

        public Options withDynamicBatch(boolean dynamic) {
            return new Options(foldBatchNorm, dynamic);
        }
    }

    /**
     * Exports {@code model} in eval semantics (its current train/eval mode is neither used nor
     * changed) to {@code out}, replaced atomically: a temp file in the same directory, fsynced,
     * then renamed over it.
     *
     * @param inputShape [N, C, H, W]; N is ignored (may be -1) with {@code opts.dynamicBatch()}
     * @throws IllegalArgumentException for an unsupported module, a shape the model cannot take,
     *                                  a model without weights (meta) or one too big for a single file
     */
    public static void export(Module model, int[] inputShape, Path out, Options opts) throws IOException {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(opts, "opts");
        if (inputShape == null || inputShape.length != 4) {
            throw new IllegalArgumentException("input shape must be [N, C, H, W], got " + Arrays.toString(inputShape));
        }
        for (int i = 1; i < 4; i++) {
            if (inputShape[i] < 1) throw new IllegalArgumentException("input shape " + Arrays.toString(inputShape) + ": C, H and W must be >= 1");
        }
        if (!opts.dynamicBatch() && inputShape[0] < 1) {
            throw new IllegalArgumentException("input shape " + Arrays.toString(inputShape) + ": a static batch needs N >= 1");
        }
        int[] shape = inputShape.clone();
        if (opts.dynamicBatch()) shape[0] = -1;

        GraphBuilder g = new GraphBuilder(opts.foldBatchNorm());
        g.names.add(INPUT);
        Value y = g.emit(model, "", new Value(INPUT, shape));
        if (y.name.equals(INPUT)) y = g.node("Identity", "identity", y.shape, List.of(INPUT)); // an output must be produced by a node
        g.rename(y.name, OUTPUT);

        Msg graph = new Msg();
        for (NodeSpec n : g.nodes) graph.message(OnnxProto.Graph.NODE, n.toProto());
        graph.string(OnnxProto.Graph.NAME, model.getClass().getSimpleName());
        for (Msg t : g.initializers) graph.message(OnnxProto.Graph.INITIALIZER, t);
        graph.string(OnnxProto.Graph.DOC_STRING, "exported by resnet4j in eval mode; BatchNorm "
                + (opts.foldBatchNorm() ? "folded into the preceding conv where possible" : "kept as BatchNormalization"));
        graph.message(OnnxProto.Graph.INPUT, valueInfo(INPUT, shape));
        graph.message(OnnxProto.Graph.OUTPUT, valueInfo(OUTPUT, y.shape));

        Msg m = new Msg()
                .varint(OnnxProto.Model.IR_VERSION, IR_VERSION)
                .string(OnnxProto.Model.PRODUCER_NAME, PRODUCER)
                .message(OnnxProto.Model.GRAPH, graph)
                .message(OnnxProto.Model.OPSET_IMPORT, new Msg()
                        .string(OnnxProto.OpsetId.DOMAIN, "") // the default "ai.onnx" domain
                        .varint(OnnxProto.OpsetId.VERSION, OPSET_VERSION));
        if (m.size() > MAX_MODEL_BYTES) {
            throw new IllegalArgumentException("the ONNX model would take " + m.size() + " bytes; protobuf files are limited to 2 GiB "
                    + "and external tensor data is not supported");
        }
        writeAtomically(out, m);
    }

    // ------------------------------------------------------------------ file

    private static void writeAtomically(Path file, Msg model) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        String name = file.getFileName().toString();
        // CREATE_NEW with a random name rather than createTempFile, whose 0600 mode the final file would inherit.
        Path tmp = dir.resolve("." + (name.length() > 100 ? name.substring(0, 100) : name) + "."
                + Long.toHexString(new SplittableRandom().nextLong()) + ".tmp");
        boolean moved = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                OutputStream os = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
                model.writeTo(os);
                os.flush(); // not closed: that would close the channel before force
                ch.force(true); // data on disk before the rename makes it visible
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            moved = true;
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true); // the rename itself durable (POSIX); best effort elsewhere
            } catch (IOException | RuntimeException ignored) {
            }
        } finally {
            if (!moved) {
                try {
                    Files.deleteIfExists(tmp); // never leave a partial temp file behind
                } catch (IOException ignored) { // the original failure is the one to report
                }
            }
        }
    }

    private static Msg valueInfo(String name, int[] shape) {
        Msg dims = new Msg();
        for (int d : shape) {
            dims.message(OnnxProto.ValueInfo.SHAPE_DIM, d < 0
                    ? new Msg().string(OnnxProto.ValueInfo.DIM_PARAM, BATCH_SYMBOL)
                    : new Msg().varint(OnnxProto.ValueInfo.DIM_VALUE, d));
        }
        Msg tensorType = new Msg()
                .varint(OnnxProto.ValueInfo.TENSOR_ELEM_TYPE, OnnxProto.Tensor.FLOAT)
                .message(OnnxProto.ValueInfo.TENSOR_SHAPE, dims);
        return new Msg()
                .string(OnnxProto.ValueInfo.NAME, name)
                .message(OnnxProto.ValueInfo.TYPE, new Msg().message(OnnxProto.ValueInfo.TYPE_TENSOR_TYPE, tensorType));
    }

    // ------------------------------------------------------------------ graph

    /** A graph value: its name and its shape, the batch dimension -1 when dynamic. */
    private record Value(String name, int[] shape) {
        int dim(int i) {
            return shape[i];
        }
    }

    private static final class NodeSpec {
        final String op, name;
        final List<String> inputs, outputs;
        final List<Msg> attributes;

        NodeSpec(String op, String name, List<String> inputs, List<String> outputs, List<Msg> attributes) {
            this.op = op;
            this.name = name;
            this.inputs = new ArrayList<>(inputs);
            this.outputs = new ArrayList<>(outputs);
            this.attributes = attributes;
        }

        Msg toProto() {
            Msg m = new Msg();
            for (String in : inputs) m.string(OnnxProto.Node.INPUT, in);
            for (String o : outputs) m.string(OnnxProto.Node.OUTPUT, o);
            m.string(OnnxProto.Node.NAME, name);
            m.string(OnnxProto.Node.OP_TYPE, op);
            for (Msg a : attributes) m.message(OnnxProto.Node.ATTRIBUTE, a);
            return m;
        }
    }

    private static Msg attr(String name, long value) {
        return new Msg().string(OnnxProto.Attribute.NAME, name).varint(OnnxProto.Attribute.I, value)
                .varint(OnnxProto.Attribute.TYPE, OnnxProto.Attribute.TYPE_INT);
    }

    private static Msg attr(String name, float value) {
        return new Msg().string(OnnxProto.Attribute.NAME, name).float32(OnnxProto.Attribute.F, value)
                .varint(OnnxProto.Attribute.TYPE, OnnxProto.Attribute.TYPE_FLOAT);
    }

    private static Msg attr(String name, String value) {
        return new Msg().string(OnnxProto.Attribute.NAME, name).string(OnnxProto.Attribute.S, value)
                .varint(OnnxProto.Attribute.TYPE, OnnxProto.Attribute.TYPE_STRING);
    }

    private static Msg ints(String name, long... values) {
        return new Msg().string(OnnxProto.Attribute.NAME, name).varints(OnnxProto.Attribute.INTS, values)
                .varint(OnnxProto.Attribute.TYPE, OnnxProto.Attribute.TYPE_INTS);
    }

    private static String join(String prefix, String name) {
        return prefix.isEmpty() ? name : prefix + "." + name;
    }

    private static String where(String path) {
        return path.isEmpty() ? "the model" : "'" + path + "'";
    }

    private static final String CIFAR_BLOCK = "org.resnet4j.models.CifarResNet$CifarBlock";
    private static final String PAD_SHORTCUT = "org.resnet4j.models.CifarResNet$PadShortcut";
    private static final String PREACT_BLOCK = "org.resnet4j.models.PreActResNet$PreActBlock";
    private static final String PREACT_BOTTLENECK = "org.resnet4j.models.PreActResNet$PreActBottleneck";

    /** Walks the modules in forward order and collects nodes and initializers. */
    private static final class GraphBuilder {
        final boolean fold;
        final List<NodeSpec> nodes = new ArrayList<>();
        final List<Msg> initializers = new ArrayList<>();
        /** Every value and initializer name: ONNX requires them unique within a graph. */
        final Set<String> names = new HashSet<>();
        /** Initializer name -> the array it holds, so a module used twice shares its weights. */
        final Map<String, Object> initData = new HashMap<>();
        /** Inside a CifarResNet: whether it is the plain (shortcut-free) variant. */
        Boolean cifarPlain;

        GraphBuilder(boolean fold) {
            this.fold = fold;
        }

        String unique(String base) {
            if (names.add(base)) return base;
            for (int i = 1; ; i++) if (names.add(base + "_" + i)) return base + "_" + i;
        }

        Value node(String op, String name, int[] outShape, List<String> inputs, Msg... attributes) {
            String out = unique(name);
            nodes.add(new NodeSpec(op, out, inputs, List.of(out), List.of(attributes)));
            return new Value(out, outShape);
        }

        void rename(String from, String to) {
            names.add(to);
            for (NodeSpec n : nodes) {
                n.outputs.replaceAll(s -> s.equals(from) ? to : s);
                n.inputs.replaceAll(s -> s.equals(from) ? to : s);
            }
        }

        String initializer(String name, Tensor t) {
            if (t.isMeta()) throw new IllegalArgumentException(name + " is a meta tensor without data (a model built with Module.buildMeta)");
            return initializer(name, t.shape(), t.data());
        }

        String initializer(String name, int[] dims, float[] data) {
            if (initData.get(name) == data) return name;
            if (!names.add(name)) throw new IllegalArgumentException("two different tensors would both be named " + name);
            initData.put(name, data);
            return floatInitializer(name, dims, data);
        }

        /** A constant the exporter makes up (not a model tensor): a fresh name from {@code base}. */
        String constant(String base, int[] dims, float[] data) {
            return floatInitializer(unique(base), dims, data);
        }

        private String floatInitializer(String name, int[] dims, float[] data) {
            Msg t = new Msg();
            for (int d : dims) t.varint(OnnxProto.Tensor.DIMS, d);
            t.varint(OnnxProto.Tensor.DATA_TYPE, OnnxProto.Tensor.FLOAT).string(OnnxProto.Tensor.NAME, name)
                    .floatsLE(OnnxProto.Tensor.RAW_DATA, data);
            initializers.add(t);
            return name;
        }

        String initializerInt64(String name, long... data) {
            String n = unique(name);
            initializers.add(new Msg().varint(OnnxProto.Tensor.DIMS, data.length)
                    .varint(OnnxProto.Tensor.DATA_TYPE, OnnxProto.Tensor.INT64).string(OnnxProto.Tensor.NAME, n)
                    .longsLE(OnnxProto.Tensor.RAW_DATA, data));
            return n;
        }

        // -------------------------------------------------------------- dispatch

        Value emit(Module m, String path, Value x) {
            return switch (m) {
                case Sequential s -> chain(s, path, x, s.children().keySet().toArray(String[]::new));
                case Conv2d c -> conv(c, path, null, null, x);
                case BatchNorm2d bn -> batchNorm(bn, path, x);
                case ReLU _ -> node("Relu", label(path, "relu"), x.shape, List.of(x.name));
                case MaxPool2d p -> maxPool(p, path, x);
                case AvgPool2d p -> avgPool(p, path, x);
                case AdaptiveAvgPool2d p -> adaptiveAvgPool(p, path, x);
                case Flatten _ -> flatten(label(path, "flatten"), x);
                case Linear l -> gemm(l, path, x);
                case Dropout _, Identity _ -> x; // dropout is the identity in eval mode, which is what is exported
                case Upsample u -> resize(u, path, x);
                case ResNet r -> resNet(r, path, x);
                case CifarResNet r -> cifarResNet(r, path, x);
                case PreActResNet r -> preActResNet(r, path, x);
                case BasicBlock b -> basicBlock(b, path, x);
                case Bottleneck b -> bottleneck(b, path, x);
                default -> switch (m.getClass().getName()) {
                    case CIFAR_BLOCK -> cifarBlock(m, path, x);
                    case PREACT_BLOCK -> preActBlock(m, path, x, false);
                    case PREACT_BOTTLENECK -> preActBlock(m, path, x, true);
                    case PAD_SHORTCUT -> throw new IllegalArgumentException("cannot export a PadShortcut on its own at " + where(path)
                            + ": it is exported as part of its CifarBlock");
                    default -> throw new IllegalArgumentException("cannot export " + m.getClass().getName() + " at " + where(path)
                            + ": the ONNX exporter does not know this module type");
                };
            };
        }

        private static String label(String path, String fallback) {
            return path.isEmpty() ? fallback : path;
        }

        /**
         * Applies the named children in order, as a forward method does; absent names are skipped
         * (optional layers such as dropout). A Conv2d immediately followed by a BatchNorm2d is one
         * folded Conv when folding: the conv's output goes nowhere but into that BN.
         */
        Value chain(Module parent, String path, Value x, String... names) {
            Map<String, Module> kids = parent.children();
            List<String> present = new ArrayList<>();
            for (String n : names) if (kids.containsKey(n)) present.add(n);
            for (int i = 0; i < present.size(); i++) {
                String n = present.get(i);
                Module m = kids.get(n);
                if (m instanceof Conv2d c && fold && i + 1 < present.size() && kids.get(present.get(i + 1)) instanceof BatchNorm2d bn) {
                    x = conv(c, join(path, n), bn, join(path, present.get(i + 1)), x);
                    i++;
                } else {
                    x = emit(m, join(path, n), x);
                }
            }
            return x;
        }

        /** Checks that {@code m} has all of {@code required} and nothing outside required and optional. */
        static void expectChildren(Module m, String path, List<String> required, List<String> optional) {
            Set<String> have = m.children().keySet();
            List<String> missing = new ArrayList<>(), extra = new ArrayList<>();
            for (String r : required) if (!have.contains(r)) missing.add(r);
            for (String h : have) if (!required.contains(h) && !optional.contains(h)) extra.add(h);
            if (!missing.isEmpty() || !extra.isEmpty()) {
                throw new IllegalArgumentException("cannot export " + m.getClass().getSimpleName() + " at " + where(path)
                        + ": unexpected structure" + (missing.isEmpty() ? "" : ", missing " + missing)
                        + (extra.isEmpty() ? "" : ", unknown children " + extra));
            }
        }

        static <T extends Module> T child(Module m, String path, String name, Class<T> type) {
            Module c = m.children().get(name);
            if (!type.isInstance(c)) {
                throw new IllegalArgumentException("cannot export " + m.getClass().getSimpleName() + " at " + where(path) + ": child '"
                        + name + "' is " + (c == null ? "missing" : c.getClass().getSimpleName()) + ", expected " + type.getSimpleName());
            }
            return type.cast(c);
        }

        // -------------------------------------------------------------- layers

        static void expectRank(Value x, int rank, String what, String path) {
            if (x.shape.length != rank) {
                throw new IllegalArgumentException(what + " at " + where(path) + " expects a rank-" + rank + " input, got "
                        + shapeString(x.shape));
            }
        }

        static void expectChannels(Value x, int channels, String what, String path) {
            expectRank(x, 4, what, path);
            if (x.dim(1) != channels) {
                throw new IllegalArgumentException(what + " at " + where(path) + " expects " + channels + " input channels, got "
                        + shapeString(x.shape));
            }
        }

        static String shapeString(int[] s) {
            StringBuilder b = new StringBuilder("[");
            for (int i = 0; i < s.length; i++) b.append(i > 0 ? ", " : "").append(s[i] < 0 ? BATCH_SYMBOL : Integer.toString(s[i]));
            return b.append(']').toString();
        }

        static int convOut(int in, int k, int s, int p, int d, String path, int[] inShape) {
            int o = Math.floorDiv(in + 2 * p - d * (k - 1) - 1, s) + 1;
            if (o < 1) throw new IllegalArgumentException("input " + shapeString(inShape) + " is too small for " + where(path));
            return o;
        }

        /**
         * Conv (opset 11 form, unchanged through 17): X [N, C, H, W], W [M, C/group, kH, kW],
         * optional B [M]; pads are [x1_begin, x2_begin, x1_end, x2_end]. With {@code bn}, the BN is
         * folded in: scale = gamma / sqrt(var + eps), W' = W * scale (per output channel),
         * b' = (b - mean) * scale + beta, computed in double.
         */
        Value conv(Conv2d c, String path, BatchNorm2d bn, String bnPath, Value x) {
            expectChannels(x, c.in, "Conv2d", path);
            int[] shape = {x.dim(0), c.out, convOut(x.dim(2), c.kernel, c.stride, c.padding, c.dilation, path, x.shape),
                    convOut(x.dim(3), c.kernel, c.stride, c.padding, c.dilation, path, x.shape)};
            List<String> inputs = new ArrayList<>(List.of(x.name));
            if (bn == null) {
                inputs.add(initializer(join(path, "weight"), c.weight.value()));
                if (c.bias != null) inputs.add(initializer(join(path, "bias"), c.bias.value()));
            } else {
                if (bn.channels != c.out) {
                    throw new IllegalArgumentException("BatchNorm2d at " + where(bnPath) + " has " + bn.channels + " channels but the conv before it has "
                            + c.out + " outputs");
                }
                Tensor w = c.weight.value();
                if (w.isMeta()) throw new IllegalArgumentException(join(path, "weight") + " is a meta tensor without data (a model built with Module.buildMeta)");
                float[] wd = w.data(), gamma = data(bn.weight.value(), bnPath), beta = data(bn.bias.value(), bnPath),
                        mean = data(bn.runningMean, bnPath), var = data(bn.runningVar, bnPath);
                float[] b = c.bias == null ? null : data(c.bias.value(), path);
                float[] wf = new float[wd.length], bf = new float[c.out];
                int per = wd.length / c.out;
                for (int o = 0; o < c.out; o++) {
                    double scale = gamma[o] / Math.sqrt((double) var[o] + bn.eps());
                    for (int j = o * per; j < (o + 1) * per; j++) wf[j] = (float) (wd[j] * scale);
                    bf[o] = (float) (((b == null ? 0.0 : b[o]) - mean[o]) * scale + beta[o]);
                }
                inputs.add(initializer(join(path, "weight"), w.shape(), wf));
                inputs.add(initializer(join(path, "bias"), new int[] {c.out}, bf));
            }
            long k = c.kernel, s = c.stride, p = c.padding, d = c.dilation;
            return node("Conv", label(path, "conv"), shape, inputs,
                    ints("dilations", d, d), attr("group", (long) c.groups), ints("kernel_shape", k, k),
                    ints("pads", p, p, p, p), ints("strides", s, s));
        }

        private static float[] data(Tensor t, String path) {
            if (t.isMeta()) throw new IllegalArgumentException(path + " holds meta tensors without data (a model built with Module.buildMeta)");
            return t.data();
        }

        /**
         * BatchNormalization-15 in inference mode (training_mode = 0, the default):
         * Y = (X - input_mean) / sqrt(input_var + epsilon) * scale + B.
         */
        Value batchNorm(BatchNorm2d bn, String path, Value x) {
            expectChannels(x, bn.channels, "BatchNorm2d", path);
            List<String> inputs = List.of(x.name, initializer(join(path, "weight"), bn.weight.value()),
                    initializer(join(path, "bias"), bn.bias.value()), initializer(join(path, "running_mean"), bn.runningMean),
                    initializer(join(path, "running_var"), bn.runningVar));
            return node("BatchNormalization", label(path, "bn"), x.shape, inputs, attr("epsilon", bn.eps()));
        }

        /**
         * MaxPool-12 without ceil_mode. PyTorch's ceil_mode drops a last window that would start in
         * the right padding, which ONNX's ceil formula does not; instead the end pads are widened
         * until floor((in + pad_begin + pad_end - kernel) / stride) + 1 gives PyTorch's size.
         * Max pooling ignores padded positions, so the extra padding changes no value.
         */
        Value maxPool(MaxPool2d p, String path, Value x) {
            expectRank(x, 4, "MaxPool2d", path);
            int oh = poolOut(x.dim(2), p.kernel, p.stride, p.padding, p.ceilMode, path, x.shape);
            int ow = poolOut(x.dim(3), p.kernel, p.stride, p.padding, p.ceilMode, path, x.shape);
            long endH = (long) (oh - 1) * p.stride + p.kernel - x.dim(2) - p.padding;
            long endW = (long) (ow - 1) * p.stride + p.kernel - x.dim(3) - p.padding;
            endH = Math.max(endH, p.padding); // floor mode: the symmetric pad already gives oh
            endW = Math.max(endW, p.padding);
            if (endH >= p.kernel || endW >= p.kernel) {
                // ONNX Runtime requires every pad to be smaller than the kernel.
                throw new IllegalArgumentException("MaxPool2d at " + where(path) + " with ceil_mode on input " + shapeString(x.shape)
                        + " has no ONNX equivalent");
            }
            long k = p.kernel, s = p.stride, pad = p.padding;
            return node("MaxPool", label(path, "maxpool"), new int[] {x.dim(0), x.dim(1), oh, ow}, List.of(x.name),
                    ints("kernel_shape", k, k), ints("pads", pad, pad, endH, endW), ints("strides", s, s));
        }

        static int poolOut(int in, int k, int s, int p, boolean ceil, String path, int[] inShape) {
            int o = Pool.outSize(in, k, s, p, 1, ceil);
            if (o < 1) throw new IllegalArgumentException("input " + shapeString(inShape) + " is too small for " + where(path));
            return o;
        }

        /** AveragePool-11 with count_include_pad = 1: PyTorch's AvgPool2d default divides by the full window. */
        Value avgPool(AvgPool2d p, String path, Value x) {
            expectRank(x, 4, "AvgPool2d", path);
            int oh = poolOut(x.dim(2), p.kernel, p.stride, p.padding, false, path, x.shape);
            int ow = poolOut(x.dim(3), p.kernel, p.stride, p.padding, false, path, x.shape);
            long k = p.kernel, s = p.stride, pad = p.padding;
            return node("AveragePool", label(path, "avgpool"), new int[] {x.dim(0), x.dim(1), oh, ow}, List.of(x.name),
                    attr("count_include_pad", 1L), ints("kernel_shape", k, k), ints("pads", pad, pad, pad, pad), ints("strides", s, s));
        }

        /**
         * (1, 1) is GlobalAveragePool. Another output size is an AveragePool only when it divides
         * the input evenly (then PyTorch's adaptive bins are equal, non-overlapping windows).
         */
        Value adaptiveAvgPool(AdaptiveAvgPool2d p, String path, Value x) {
            expectRank(x, 4, "AdaptiveAvgPool2d", path);
            int[] shape = {x.dim(0), x.dim(1), p.outH, p.outW};
            if (p.outH == 1 && p.outW == 1) return node("GlobalAveragePool", label(path, "avgpool"), shape, List.of(x.name));
            if (x.dim(2) % p.outH != 0 || x.dim(3) % p.outW != 0) {
                throw new IllegalArgumentException("AdaptiveAvgPool2d(" + p.outH + ", " + p.outW + ") at " + where(path) + " on input "
                        + shapeString(x.shape) + ": only output sizes that divide the input have an ONNX equivalent");
            }
            long kh = x.dim(2) / p.outH, kw = x.dim(3) / p.outW;
            return node("AveragePool", label(path, "avgpool"), shape, List.of(x.name),
                    ints("kernel_shape", kh, kw), ints("strides", kh, kw));
        }

        /** Flatten-13 with axis 1: [N, d1, d2, ...] -> [N, d1 * d2 * ...], as torch.flatten(x, 1). */
        Value flatten(String name, Value x) {
            int f = 1;
            for (int i = 1; i < x.shape.length; i++) f = Math.multiplyExact(f, x.dim(i));
            return node("Flatten", name, new int[] {x.dim(0), f}, List.of(x.name), attr("axis", 1L));
        }

        /** Gemm-13: Y = A * B^T + C with transB = 1, B = the Linear weight [out, in], C = its bias broadcast over rows. */
        Value gemm(Linear l, String path, Value x) {
            expectRank(x, 2, "Linear", path);
            if (x.dim(1) != l.in) {
                throw new IllegalArgumentException("Linear at " + where(path) + " expects " + l.in + " features, got " + shapeString(x.shape));
            }
            List<String> inputs = new ArrayList<>(List.of(x.name, initializer(join(path, "weight"), l.weight.value())));
            if (l.bias != null) inputs.add(initializer(join(path, "bias"), l.bias.value()));
            return node("Gemm", label(path, "fc"), new int[] {x.dim(0), l.out}, inputs, attr("transB", 1L));
        }

        /**
         * Resize-13 by scales [1, 1, s, s] (roi input left empty). Nearest: coordinate mode
         * "asymmetric" (x_original = x_resized / scale) with nearest_mode "floor", i.e.
         * floor(dst * in / out). Bilinear, align_corners=False: "pytorch_half_pixel"
         * (x_original = (x_resized + 0.5) / scale - 0.5), as torch.onnx exports it.
         */
        Value resize(Upsample u, String path, Value x) {
            expectRank(x, 4, "Upsample", path);
            String scales = constant(join(path, "scales"), new int[] {4}, new float[] {1f, 1f, u.scale, u.scale});
            int[] shape = {x.dim(0), x.dim(1), x.dim(2) * u.scale, x.dim(3) * u.scale};
            return switch (u.mode) {
                case NEAREST -> node("Resize", label(path, "upsample"), shape, List.of(x.name, "", scales),
                        attr("coordinate_transformation_mode", "asymmetric"), attr("mode", "nearest"), attr("nearest_mode", "floor"));
                case BILINEAR -> node("Resize", label(path, "upsample"), shape, List.of(x.name, "", scales),
                        attr("coordinate_transformation_mode", "pytorch_half_pixel"), attr("mode", "linear"));
            };
        }

        Value add(String path, Value a, Value b) {
            if (!Arrays.equals(a.shape, b.shape)) {
                throw new IllegalArgumentException("residual add at " + where(path) + ": branch " + shapeString(a.shape)
                        + " and shortcut " + shapeString(b.shape) + " differ");
            }
            return node("Add", join(path, "add"), a.shape, List.of(a.name, b.name));
        }

        // -------------------------------------------------------------- models and blocks

        /** ResNet.forward: stem, max pool, four stages, pooling, flatten, [dropout], fc. */
        Value resNet(ResNet r, String path, Value x) {
            expectChildren(r, path, List.of("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"),
                    List.of("dropout"));
            x = chain(r, path, x, "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool");
            x = flatten(join(path, "flatten"), x);
            return chain(r, path, x, "dropout", "fc");
        }

        /** CifarResNet.forward: conv-BN-ReLU stem, three stages, pooling, flatten, [dropout], fc. */
        Value cifarResNet(CifarResNet r, String path, Value x) {
            expectChildren(r, path, List.of("conv1", "bn1", "relu", "layer1", "layer2", "layer3", "avgpool", "fc"), List.of("dropout"));
            Boolean outer = cifarPlain;
            cifarPlain = isPlain(r, path);
            try {
                x = chain(r, path, x, "conv1", "bn1", "relu", "layer1", "layer2", "layer3", "avgpool");
            } finally {
                cifarPlain = outer;
            }
            x = flatten(join(path, "flatten"), x);
            return chain(r, path, x, "dropout", "fc");
        }

        /**
         * A plain net's blocks have no shortcut at all, a residual net's an identity where the
         * shape is kept: only a block that changes the shape tells them apart (a plain one has no
         * "shortcut" child there), and every CIFAR net has one, the first block of layer2.
         */
        private static boolean isPlain(CifarResNet r, String path) {
            Boolean plain = null;
            for (String stage : List.of("layer1", "layer2", "layer3")) {
                for (Module b : child(r, path, stage, Sequential.class).children().values()) {
                    Module c1 = b.children().get("conv1");
                    if (!(c1 instanceof Conv2d c) || (c.stride == 1 && c.in == c.out)) continue;
                    boolean p = !b.children().containsKey("shortcut");
                    if (plain != null && plain != p) {
                        throw new IllegalArgumentException("cannot export CifarResNet at " + where(path) + ": some shape-changing blocks have a shortcut and some do not");
                    }
                    plain = p;
                }
            }
            if (plain == null) throw new IllegalArgumentException("cannot export CifarResNet at " + where(path) + ": no block changes shape, so plain and residual nets cannot be told apart");
            return plain;
        }

        /** CifarBlock.forward: relu(bn2(conv2(relu(bn1(conv1 x)))) [+ shortcut(x)]). */
        Value cifarBlock(Module b, String path, Value x) {
            expectChildren(b, path, List.of("conv1", "bn1", "relu", "conv2", "bn2"), List.of("shortcut"));
            Conv2d conv1 = child(b, path, "conv1", Conv2d.class);
            Module shortcut = b.children().get("shortcut");
            boolean plain;
            if (cifarPlain != null) {
                plain = cifarPlain;
            } else if (shortcut != null || conv1.stride != 1 || conv1.in != conv1.out) {
                plain = shortcut == null;
            } else {
                throw new IllegalArgumentException("cannot export a CifarBlock on its own at " + where(path) + ": export its CifarResNet");
            }
            Value y = chain(b, path, x, "conv1", "bn1", "relu", "conv2", "bn2");
            if (!plain) {
                Value sc;
                if (shortcut == null) {
                    sc = x;
                } else if (shortcut.getClass().getName().equals(PAD_SHORTCUT)) {
                    // The block builds it as PadShortcut(stride, (out - in) / 2, out - in - (out - in) / 2).
                    int extra = conv1.out - conv1.in;
                    sc = padShortcut(join(path, "shortcut"), x, conv1.stride, extra / 2, extra - extra / 2);
                } else {
                    sc = emit(shortcut, join(path, "shortcut"), x);
                }
                y = add(path, y, sc);
            }
            return emit(b.children().get("relu"), join(path, "relu"), y);
        }

        /**
         * Option A: x[:, :, ::stride, ::stride] (Slice-13 over axes 2 and 3 with steps; ends at
         * INT64_MAX, which Slice clamps to the dimension) and the new channels zero-padded
         * before and after (Pad-13, constant mode, pads [x1_begin, ..., x4_begin, x1_end, ...]).
         */
        Value padShortcut(String path, Value x, int stride, int before, int after) {
            expectRank(x, 4, "PadShortcut", path);
            if (stride != 1) {
                int oh = (x.dim(2) + stride - 1) / stride, ow = (x.dim(3) + stride - 1) / stride;
                x = node("Slice", join(path, "slice"), new int[] {x.dim(0), x.dim(1), oh, ow}, List.of(x.name,
                        initializerInt64(join(path, "starts"), 0, 0),
                        initializerInt64(join(path, "ends"), Long.MAX_VALUE, Long.MAX_VALUE),
                        initializerInt64(join(path, "axes"), 2, 3),
                        initializerInt64(join(path, "steps"), stride, stride)));
            }
            if (before != 0 || after != 0) {
                x = node("Pad", join(path, "pad"), new int[] {x.dim(0), x.dim(1) + before + after, x.dim(2), x.dim(3)}, List.of(x.name,
                        initializerInt64(join(path, "pads"), 0, before, 0, 0, 0, after, 0, 0)), attr("mode", "constant"));
            }
            return x;
        }

        /** BasicBlock.forward: relu(bn2(conv2(relu(bn1(conv1 x)))) + downsample(x)). */
        Value basicBlock(BasicBlock b, String path, Value x) {
            expectChildren(b, path, List.of("conv1", "bn1", "relu", "conv2", "bn2"), List.of("downsample"));
            Value y = chain(b, path, x, "conv1", "bn1", "relu", "conv2", "bn2");
            return residual(b, path, x, y, "downsample", x);
        }

        /** Bottleneck.forward: relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1 x))))))) + downsample(x)). */
        Value bottleneck(Bottleneck b, String path, Value x) {
            expectChildren(b, path, List.of("conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "relu"), List.of("downsample"));
            Value y = chain(b, path, x, "conv1", "bn1", "relu", "conv2", "bn2", "relu", "conv3", "bn3");
            return residual(b, path, x, y, "downsample", x);
        }

        private Value residual(Module b, String path, Value x, Value y, String shortcutName, Value shortcutInput) {
            Module sc = b.children().get(shortcutName);
            Value id = sc == null ? x : emit(sc, join(path, shortcutName), shortcutInput);
            return emit(b.children().get("relu"), join(path, "relu"), add(path, y, id));
        }

        /**
         * PreActResNet.forward: stem (ImageNet: conv-BN-ReLU-maxpool "stem"; CIFAR: a bare
         * "conv1"), the stages, final BN-ReLU, pooling, flatten, [dropout], fc.
         */
        Value preActResNet(PreActResNet r, String path, Value x) {
            List<String> stages = new ArrayList<>();
            for (int i = 1; r.children().containsKey("layer" + i); i++) stages.add("layer" + i);
            Set<String> optional = new LinkedHashSet<>(stages);
            optional.addAll(List.of("stem", "conv1", "dropout"));
            expectChildren(r, path, List.of("final_bn", "relu", "avgpool", "fc"), List.copyOf(optional));
            boolean hasStem = r.children().containsKey("stem"), hasConv1 = r.children().containsKey("conv1");
            if (hasStem == hasConv1 || stages.isEmpty()) {
                throw new IllegalArgumentException("cannot export PreActResNet at " + where(path) + ": expected one of 'stem' or 'conv1' and at least 'layer1', found "
                        + r.children().keySet());
            }
            x = emit(r.children().get(hasStem ? "stem" : "conv1"), join(path, hasStem ? "stem" : "conv1"), x);
            x = chain(r, path, x, stages.toArray(String[]::new));
            x = chain(r, path, x, "final_bn", "relu", "avgpool");
            x = flatten(join(path, "flatten"), x);
            return chain(r, path, x, "dropout", "fc");
        }

        /**
         * PreActBlock / PreActBottleneck.forward: pre = relu(bn1(x)); the shortcut is the 1x1
         * projection of pre where present, else x itself; the body is conv1, then BN-ReLU-conv
         * once (basic) or twice (bottleneck). bn1 reads x, which the shortcut also reads, so it is
         * never folded; bn2 and bn3 follow a conv and are.
         */
        Value preActBlock(Module b, String path, Value x, boolean bottleneck) {
            List<String> body = bottleneck
                    ? List.of("conv1", "bn2", "relu", "conv2", "bn3", "relu", "conv3")
                    : List.of("conv1", "bn2", "relu", "conv2");
            List<String> required = new ArrayList<>(new LinkedHashSet<>(body));
            required.add("bn1");
            expectChildren(b, path, required, List.of("shortcut"));
            Value pre = chain(b, path, x, "bn1", "relu");
            Module sc = b.children().get("shortcut");
            Value id = sc == null ? x : emit(sc, join(path, "shortcut"), pre);
            Value y = chain(b, path, pre, body.toArray(String[]::new));
            return add(path, y, id);
        }
    }
}
