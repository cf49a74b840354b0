package org.resnet4j.io.onnx;

import org.resnet4j.io.AtomicFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.resnet4j.io.onnx.OnnxGraph.NodeSpec;
import org.resnet4j.io.onnx.OnnxGraph.Value;
import org.resnet4j.io.onnx.OnnxProto.Msg;
import org.resnet4j.nn.Module;

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
 * <p>The graph has one input {@code input} [N, C, H, W] and one output {@code output}, except
 * for a segmentation model, whose outputs are those of its {@code forwardAll}: {@code out} and,
 * with the auxiliary head, {@code aux}, both [N, classes, H, W] (torchvision's dict keys). With
 * {@link Options#dynamicBatch()} the batch dimension is the symbol {@code N}, otherwise the given
 * number. Height and width are fixed at export time (they decide the pooling and padding
 * attributes). Initializers carry the model's state_dict names ({@code layer1.0.conv1.weight},
 * {@code layer1.0.bn1.running_mean}, ...). With {@link Options#foldBatchNorm()}, a BN that
 * directly follows a conv whose output nothing else reads is folded into that conv: the
 * initializers {@code <conv>.weight} and {@code <conv>.bias} then hold the folded values, as
 * torch.ao.quantization.fuse_modules leaves them; a BN with no such conv before it (the
 * pre-activation BNs of PreActResNet) stays a BatchNormalization node.
 *
 * <p>This class checks the input shape, assembles the model and writes the file; the walk through
 * networks and blocks is {@link OnnxModelWalker}'s, the operators of each layer {@link OnnxGraph}'s.
 */
public final class Onnx {
    public static final int OPSET_VERSION = 17;
    public static final long IR_VERSION = 8;
    public static final String PRODUCER = "resnet4j";
    public static final String INPUT = "input", OUTPUT = "output";
    /** A segmentation model's outputs: the classifier's scores and the auxiliary head's. */
    public static final String SEGMENTATION_OUT = OnnxGraph.OUT, SEGMENTATION_AUX = OnnxGraph.AUX;
    /** The name of the symbolic batch dimension (static-batch exports have none). */
    public static final String BATCH_SYMBOL = OnnxGraph.BATCH_SYMBOL;
    /** protobuf refuses to parse a message over 2 GiB; bigger models need ONNX external data, not written here. */
    private static final long MAX_MODEL_BYTES = Integer.MAX_VALUE;

    private Onnx() {}

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

        OnnxGraph g = new OnnxGraph(opts.foldBatchNorm());
        g.names.add(INPUT);
        Map<String, Value> outputs = new LinkedHashMap<>();
        for (var e : new OnnxModelWalker(g).outputs(model, new Value(INPUT, shape), OUTPUT).entrySet()) {
            Value y = e.getValue();
            if (y.name().equals(INPUT)) y = g.node("Identity", "identity", y.shape(), List.of(INPUT)); // an output must be produced by a node
            g.rename(y.name(), e.getKey());
            outputs.put(e.getKey(), y);
        }

        Msg graph = new Msg();
        for (NodeSpec n : g.nodes) graph.message(OnnxProto.Graph.NODE, n.toProto());
        graph.string(OnnxProto.Graph.NAME, model.getClass().getSimpleName());
        for (Msg t : g.initializers) graph.message(OnnxProto.Graph.INITIALIZER, t);
        graph.string(OnnxProto.Graph.DOC_STRING, "exported by resnet4j in eval mode; BatchNorm "
                + (opts.foldBatchNorm() ? "folded into the preceding conv where possible" : "kept as BatchNormalization"));
        graph.message(OnnxProto.Graph.INPUT, valueInfo(INPUT, shape));
        for (var e : outputs.entrySet()) graph.message(OnnxProto.Graph.OUTPUT, valueInfo(e.getKey(), e.getValue().shape()));

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
        AtomicFile.writeStream(file, model::writeTo);
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
}
