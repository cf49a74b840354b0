package org.resnet4j.io.onnx;


import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.resnet4j.io.onnx.OnnxProto.Msg;
import org.resnet4j.kernels.Pool;
import org.resnet4j.nn.AdaptiveAvgPool2d;
import org.resnet4j.nn.AvgPool2d;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Linear;
import org.resnet4j.nn.MaxPool2d;
import org.resnet4j.nn.Upsample;
import org.resnet4j.tensor.Tensor;

/**
 * An ONNX graph under construction: its nodes and initializers, the names it has handed out, and
 * one method per layer type that emits the operators that layer's eval-mode {@code forward}
 * performs (with BN folded into a conv when asked). It knows nothing of how layers are composed
 * into blocks and networks; {@link OnnxModelWalker} decides which layer comes when, and
 * {@link Onnx} wraps the result into a model file.
 */
final class OnnxGraph {
    /** The name of the symbolic batch dimension. */
    static final String BATCH_SYMBOL = "N";
    /** A segmentation model's output names, its forwardAll keys (torchvision's dict keys). */
    static final String OUT = "out", AUX = "aux";
    /** A graph value: its name and its shape, the batch dimension -1 when dynamic. */
    record Value(String name, int[] shape) {
        int dim(int i) {
            return shape[i];
        }
    }

    static final class NodeSpec {
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

    /** Whether the walker should fold a BN into the conv before it (see {@link #conv}). */
    final boolean fold;
    final List<NodeSpec> nodes = new ArrayList<>();
    final List<Msg> initializers = new ArrayList<>();
    /** Every value and initializer name: ONNX requires them unique within a graph. */
    final Set<String> names = new HashSet<>();
    /** Initializer name -> the array it holds, so a module used twice shares its weights. */
    final Map<String, Object> initData = new HashMap<>();

    OnnxGraph(boolean fold) {
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
     * floor(dst * in / out). Bilinear, align_corners=False: see {@link #bilinear}.
     */
    Value resize(Upsample u, String path, Value x) {
        expectRank(x, 4, "Upsample", path);
        String scales = constant(join(path, "scales"), new int[] {4}, new float[] {1f, 1f, u.scale, u.scale});
        int[] shape = {x.dim(0), x.dim(1), x.dim(2) * u.scale, x.dim(3) * u.scale};
        return switch (u.mode) {
            case NEAREST -> node("Resize", label(path, "upsample"), shape, List.of(x.name, "", scales),
                    attr("coordinate_transformation_mode", "asymmetric"), attr("mode", "nearest"), attr("nearest_mode", "floor"));
            case BILINEAR -> node("Resize", label(path, "upsample"), shape, List.of(x.name, "", scales), bilinear());
        };
    }

    /**
     * F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False): Resize-13 to a size.
     * Resize-13 takes a full-rank "sizes" (the per-axis "axes" attribute is opset 18), and with a
     * symbolic batch the first two entries are only known at run time, so they come from the
     * input: Shape-15 with start 0 and end 2 gives [N, C], concatenated with the constant [h, w],
     * as torch.onnx builds the sizes of a traced interpolate. With "sizes" ONNX Runtime's scale
     * is out / in, so x_original = (x + 0.5) * in / out - 0.5, PyTorch's source index when an
     * output size is given.
     */
    Value resizeTo(String path, Value x, int h, int w) {
        expectRank(x, 4, "interpolate", path);
        Value nc = node("Shape", join(path, "shape"), new int[] {2}, List.of(x.name), attr("start", 0L), attr("end", 2L));
        Value sizes = node("Concat", join(path, "sizes"), new int[] {4}, List.of(nc.name, initializerInt64(join(path, "hw"), h, w)),
                attr("axis", 0L));
        return node("Resize", join(path, "resize"), new int[] {x.dim(0), x.dim(1), h, w}, List.of(x.name, "", "", sizes.name), bilinear());
    }

    /**
     * Bilinear with align_corners=False is coordinate mode "half_pixel", x_original =
     * (x_resized + 0.5) / scale - 0.5 with no exception, which is aten's
     * area_pixel_compute_source_index (clamped at 0, as ONNX Runtime's linear mode clamps) and
     * what torch.onnx writes at opset 11 and later (symbolic_helper._interpolate_helper in
     * PyTorch 1.13). "pytorch_half_pixel" differs from it only for an output of length 1, where
     * it reads source 0 while PyTorch reads the middle of the input.
     */
    private static Msg[] bilinear() {
        return new Msg[] {attr("coordinate_transformation_mode", "half_pixel"), attr("mode", "linear")};
    }

    /** Concat-13 along {@code axis}: every other dimension must agree. */
    Value concat(String path, List<Value> xs, int axis) {
        int[] shape = xs.getFirst().shape.clone();
        shape[axis] = 0;
        List<String> names = new ArrayList<>();
        for (Value v : xs) {
            for (int i = 0; i < shape.length; i++) {
                if (i != axis && v.dim(i) != shape[i]) {
                    throw new IllegalArgumentException("concat at " + where(path) + ": " + shapeString(v.shape) + " does not fit "
                            + shapeString(xs.getFirst().shape) + " outside axis " + axis);
                }
            }
            shape[axis] += v.dim(axis);
            names.add(v.name);
        }
        return node("Concat", join(path, "concat"), shape, names, attr("axis", (long) axis));
    }

    Value add(String path, Value a, Value b) {
        if (!Arrays.equals(a.shape, b.shape)) {
            throw new IllegalArgumentException("residual add at " + where(path) + ": branch " + shapeString(a.shape)
                    + " and shortcut " + shapeString(b.shape) + " differ");
        }
        return node("Add", join(path, "add"), a.shape, List.of(a.name, b.name));
    }

    /**
     * CifarResNet's PadShortcut, option A: x[:, :, ::stride, ::stride] (Slice-13 over axes 2 and 3 with steps; ends at
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

    /** Relu: elementwise, so the shape is kept. */
    Value relu(String path, Value x) {
        return node("Relu", label(path, "relu"), x.shape, List.of(x.name));
    }

    // -------------------------------------------------------------- helpers

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

    /** A child's path, as state_dict keys spell it. */
    static String join(String prefix, String name) {
        return prefix.isEmpty() ? name : prefix + "." + name;
    }

    /** A module's path for messages. */
    static String where(String path) {
        return path.isEmpty() ? "the model" : "'" + path + "'";
    }

    /** A node's name: its module's path, or a fallback for the root module, whose path is empty. */
    static String label(String path, String fallback) {
        return path.isEmpty() ? fallback : path;
    }
}
