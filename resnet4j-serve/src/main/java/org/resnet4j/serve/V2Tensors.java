package org.resnet4j.serve;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.resnet4j.tensor.Tensor;

/**
 * The Open Inference Protocol's tensors (KServe v2 "Inference Request/Response JSON"): an input is
 * {@code {"name", "shape", "datatype", "data"}} with data flat in row-major order (or nested as the
 * shape), here FP32 [N, C, H, W]. Also Triton's binary tensor data extension, which Triton's and
 * KServe's clients use for speed: the body is the JSON header (its length in the
 * {@code Inference-Header-Content-Length} header) followed by the raw little-endian tensors, and an
 * input says {@code "parameters": {"binary_data_size": bytes}} instead of carrying "data"; the
 * output comes back the same way when the request asks for {@code "binary_data": true} (per output)
 * or {@code "binary_data_output": true} (for all). Errors are IllegalArgumentExceptions naming the
 * field at fault; the server answers them with 400. The JSON is read with
 * {@code Json.parseWithFloatArrays(text, "data")}: a tensor's numbers arrive as float arrays, 4
 * bytes each, never boxed.
 */
final class V2Tensors {
    /** The header that gives the JSON part's length in a binary request or response. */
    static final String HEADER_LENGTH = "Inference-Header-Content-Length";

    private V2Tensors() {}

    /** Where a request's allocations are reserved before they are made (see {@link Admission}). */
    @FunctionalInterface
    interface Budget {
        void reserve(long bytes) throws HttpError;
    }

    /**
     * The N images of the request's one input, each a CHW tensor of {@code chw}'s shape. Everything
     * the client declares (N against {@code maxImages}, C, H, W, the binary size) is checked, and
     * the numbers that came are counted, before the tensor is allocated: what a request declares
     * never decides what the server allocates.
     *
     * @param body the request's body
     * @param binaryStart where the bytes after the JSON header begin (the body's length for a
     *     JSON-only request)
     * @param maxImages most images one request may carry
     * @param budget told the bytes the tensor will take (its data and the per-image copies) once
     *     they are checked and before they are allocated; it refuses by throwing
     */
    static List<Tensor> inputImages(Object request, byte[] body, int binaryStart, int[] chw, int maxImages, Budget budget)
            throws HttpError {
        int binaryLength = body.length - binaryStart;
        if (!(request instanceof Map<?, ?> req)) throw new IllegalArgumentException("the request must be a JSON object with \"inputs\"");
        if (!(req.get("inputs") instanceof List<?> inputs) || inputs.size() != 1) {
            throw new IllegalArgumentException("\"inputs\" must be a list of exactly one tensor (the image batch)");
        }
        if (!(inputs.getFirst() instanceof Map<?, ?> in)) throw new IllegalArgumentException("inputs[0] must be an object");
        if (!"FP32".equals(in.get("datatype"))) throw new IllegalArgumentException("inputs[0].datatype must be \"FP32\", got " + in.get("datatype"));
        String expected = "[N, " + chw[0] + ", " + chw[1] + ", " + chw[2] + "]";
        if (!(in.get("shape") instanceof List<?> shapeList) || shapeList.size() != 4) {
            throw new IllegalArgumentException("inputs[0].shape must be " + expected + ", got " + in.get("shape"));
        }
        int[] shape = new int[4];
        for (int i = 0; i < 4; i++) {
            if (!(shapeList.get(i) instanceof Long l) || l < 1 || l > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("inputs[0].shape[" + i + "] must be a positive integer, got " + shapeList.get(i));
            }
            shape[i] = (int) (long) l;
        }
        if (shape[1] != chw[0] || shape[2] != chw[1] || shape[3] != chw[2]) {
            throw new IllegalArgumentException("inputs[0].shape must be " + expected + ", got " + Arrays.toString(shape));
        }
        if (shape[0] > maxImages) {
            throw new IllegalArgumentException("inputs[0].shape[0] is " + shape[0] + ": this server takes at most " + maxImages
                    + " images per request (--max-request-batch)");
        }
        int per = chw[0] * chw[1] * chw[2];
        long total = (long) shape[0] * per;
        Object binarySize = in.get("parameters") instanceof Map<?, ?> params ? params.get("binary_data_size") : null;
        if (binarySize != null) {
            if (in.containsKey("data")) throw new IllegalArgumentException("inputs[0] has both \"data\" and parameters.binary_data_size");
            if (!(binarySize instanceof Long size) || size != total * 4) {
                throw new IllegalArgumentException("inputs[0].parameters.binary_data_size must be " + total * 4 + " (FP32 " + Arrays.toString(shape) + "), got " + binarySize);
            }
            if (binaryLength != total * 4) {
                throw new IllegalArgumentException("the body has " + binaryLength + " bytes after the JSON header, inputs[0] needs " + total * 4);
            }
            // each image's array, filled straight from the body: no flat copy to slice
            budget.reserve(4 * total);
            FloatBuffer src = ByteBuffer.wrap(body, binaryStart, binaryLength).slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            List<Tensor> images = new ArrayList<>(shape[0]);
            for (int n = 0; n < shape[0]; n++) {
                float[] image = new float[per];
                src.get(image);
                requireFinite(image, (long) n * per, false);
                images.add(Tensor.of(image, chw[0], chw[1], chw[2]));
            }
            return images;
        }
        if (binaryLength > 0) throw new IllegalArgumentException("the body has " + binaryLength + " bytes after the JSON header, but no input has parameters.binary_data_size");
        long count = count(in.get("data"));
        if (count != total) throw new IllegalArgumentException("inputs[0].data has " + count + " numbers, the shape " + Arrays.toString(shape) + " needs " + total);
        budget.reserve(8 * total); // the flat data and each image's copy of its slice
        float[] data = new float[(int) total];
        flatten(in.get("data"), data, new int[] {0}, total);
        requireFinite(data, 0, true);
        List<Tensor> images = new ArrayList<>(shape[0]);
        for (int n = 0; n < shape[0]; n++) images.add(Tensor.of(Arrays.copyOfRange(data, n * per, (n + 1) * per), chw[0], chw[1], chw[2]));
        return images;
    }

    /**
     * JSON has no NaN or Infinity, but a literal past float's range (1e39) rounds to Infinity, and
     * binary data may hold any bits: a non-finite input would only make non-finite logits.
     */
    private static void requireFinite(float[] data, long offset, boolean json) {
        for (int k = 0; k < data.length; k++) {
            if (!Float.isFinite(data[k])) {
                throw new IllegalArgumentException("inputs[0].data[" + (offset + k) + "] is " + data[k] + ": FP32 inputs must be finite"
                        + (json ? " (a literal past float's range, +-3.4e38, rounds to infinity)" : ""));
            }
        }
    }

    /** How many numbers the (possibly nested) data holds; anything else in it is an error naming it. */
    private static long count(Object v) {
        if (v instanceof float[] f) return f.length;
        if (v instanceof Number) return 1;
        if (v instanceof List<?> l) {
            long n = 0;
            for (Object x : l) n += count(x);
            return n;
        }
        throw new IllegalArgumentException("inputs[0].data must hold numbers, found " + (v == null ? "null" : v instanceof String ? "a string" : v));
    }

    private static void flatten(Object v, float[] out, int[] at, long total) {
        if (v instanceof float[] f) {
            if (at[0] + f.length > total) throw new IllegalArgumentException("inputs[0].data has more numbers than its shape holds (" + total + ")");
            System.arraycopy(f, 0, out, at[0], f.length);
            at[0] += f.length;
        } else if (v instanceof Number num) {
            if (at[0] >= total) throw new IllegalArgumentException("inputs[0].data has more numbers than its shape holds (" + total + ")");
            out[at[0]++] = num.floatValue();
        } else if (v instanceof List<?> l) {
            for (Object x : l) flatten(x, out, at, total);
        } else {
            throw new IllegalArgumentException("inputs[0].data must hold numbers, found " + (v == null ? "null" : v instanceof String ? "a string" : v));
        }
    }

    /**
     * Whether the request asks for the output as binary data: {@code parameters.binary_data_output}
     * for every output, or {@code outputs[i].parameters.binary_data} for the one named "output".
     * An output that is not "output" is refused, as Triton refuses unknown outputs.
     */
    static boolean wantsBinaryOutput(Object request) {
        Map<?, ?> req = (Map<?, ?>) request;
        boolean binary = req.get("parameters") instanceof Map<?, ?> p && Boolean.TRUE.equals(p.get("binary_data_output"));
        if (req.get("outputs") instanceof List<?> outs) {
            for (int i = 0; i < outs.size(); i++) {
                if (!(outs.get(i) instanceof Map<?, ?> o) || !"output".equals(o.get("name"))) {
                    throw new IllegalArgumentException("outputs[" + i + "] must name \"output\", the model's one output");
                }
                if (o.get("parameters") instanceof Map<?, ?> p) binary = Boolean.TRUE.equals(p.get("binary_data"));
            }
        } else if (req.containsKey("outputs")) {
            throw new IllegalArgumentException("\"outputs\" must be a list");
        }
        return binary;
    }

    /** An FP32 [N, K] output tensor, its data in the JSON. */
    static Map<String, Object> output(String name, float[][] rows) {
        Map<String, Object> o = outputHeader(name, rows);
        o.put("data", flat(rows));
        return o;
    }

    /** An FP32 [N, K] output tensor whose data follows the JSON as {@link #binary} bytes. */
    static Map<String, Object> binaryOutput(String name, float[][] rows) {
        Map<String, Object> o = outputHeader(name, rows);
        o.put("parameters", Map.of("binary_data_size", (long) flat(rows).length * 4));
        return o;
    }

    /** The rows, little-endian FP32, row after row. */
    static byte[] binary(float[][] rows) {
        float[] f = flat(rows);
        ByteBuffer b = ByteBuffer.allocate(f.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        FloatBuffer fb = b.asFloatBuffer();
        fb.put(f);
        return b.array();
    }

    private static Map<String, Object> outputHeader(String name, float[][] rows) {
        int k = rows.length == 0 ? 0 : rows[0].length;
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("name", name);
        o.put("datatype", "FP32");
        o.put("shape", List.of(rows.length, k));
        return o;
    }

    private static float[] flat(float[][] rows) {
        int k = rows.length == 0 ? 0 : rows[0].length;
        float[] flat = new float[rows.length * k];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, flat, i * k, k);
        return flat;
    }

    /** A model's metadata ({@code GET /v2/models/{name}}): its input and output tensors. */
    static Map<String, Object> metadata(ServedModel m) {
        int[] s = m.inputShape();
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("name", m.name());
        o.put("versions", List.of("1"));
        o.put("platform", "resnet4j");
        o.put("inputs", List.of(tensorMetadata("input", List.of(-1, s[0], s[1], s[2]))));
        o.put("outputs", List.of(tensorMetadata("output", List.of(-1, m.predictor().classes().size()))));
        return o;
    }

    private static Map<String, Object> tensorMetadata(String name, List<Integer> shape) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("name", name);
        t.put("datatype", "FP32");
        t.put("shape", shape);
        return t;
    }
}
