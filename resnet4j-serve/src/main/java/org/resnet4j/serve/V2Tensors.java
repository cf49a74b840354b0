package org.resnet4j.serve;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.resnet4j.tensor.Tensor;

/**
 * The Open Inference Protocol's JSON tensors (KServe v2 "Inference Request/Response JSON"): an
 * input is {@code {"name", "shape", "datatype", "data"}} with data flat in row-major order (or
 * nested as the shape), here FP32 [N, C, H, W]. Errors are IllegalArgumentExceptions naming the
 * field at fault; the server answers them with 400.
 */
final class V2Tensors {
    private V2Tensors() {}

    /** The N images of the request's one input, each a CHW tensor of {@code chw}'s shape. */
    static List<Tensor> inputImages(Object request, int[] chw) {
        if (!(request instanceof Map<?, ?> req)) throw new IllegalArgumentException("the request must be a JSON object with \"inputs\"");
        if (!(req.get("inputs") instanceof List<?> inputs) || inputs.size() != 1) {
            throw new IllegalArgumentException("\"inputs\" must be a list of exactly one tensor (the image batch)");
        }
        if (!(inputs.getFirst() instanceof Map<?, ?> in)) throw new IllegalArgumentException("inputs[0] must be an object");
        if (!"FP32".equals(in.get("datatype"))) throw new IllegalArgumentException("inputs[0].datatype must be \"FP32\", got " + in.get("datatype"));
        if (!(in.get("shape") instanceof List<?> shapeList) || shapeList.size() != 4) {
            throw new IllegalArgumentException("inputs[0].shape must be [N, " + chw[0] + ", " + chw[1] + ", " + chw[2] + "], got " + in.get("shape"));
        }
        int[] shape = new int[4];
        for (int i = 0; i < 4; i++) {
            if (!(shapeList.get(i) instanceof Long l) || l < 1 || l > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("inputs[0].shape[" + i + "] must be a positive integer, got " + shapeList.get(i));
            }
            shape[i] = (int) (long) l;
        }
        if (shape[1] != chw[0] || shape[2] != chw[1] || shape[3] != chw[2]) {
            throw new IllegalArgumentException("inputs[0].shape must be [N, " + chw[0] + ", " + chw[1] + ", " + chw[2] + "], got " + Arrays.toString(shape));
        }
        int per = chw[0] * chw[1] * chw[2];
        long total = (long) shape[0] * per;
        float[] data = new float[Math.toIntExact(Math.min(total, Integer.MAX_VALUE - 8))];
        int[] filled = {0};
        flatten(in.get("data"), data, filled, total);
        if (filled[0] != total) throw new IllegalArgumentException("inputs[0].data has " + filled[0] + " numbers, the shape " + Arrays.toString(shape) + " needs " + total);
        List<Tensor> images = new ArrayList<>(shape[0]);
        for (int n = 0; n < shape[0]; n++) images.add(Tensor.of(Arrays.copyOfRange(data, n * per, (n + 1) * per), chw[0], chw[1], chw[2]));
        return images;
    }

    private static void flatten(Object v, float[] out, int[] at, long total) {
        if (v instanceof Number num) {
            if (at[0] >= total) throw new IllegalArgumentException("inputs[0].data has more numbers than its shape holds (" + total + ")");
            out[at[0]++] = num.floatValue();
        } else if (v instanceof List<?> l) {
            for (Object x : l) flatten(x, out, at, total);
        } else {
            throw new IllegalArgumentException("inputs[0].data must hold numbers, found " + (v == null ? "null" : v.getClass().getSimpleName().equals("String") ? "a string" : v));
        }
    }

    /** An FP32 [N, K] output tensor. */
    static Map<String, Object> output(String name, float[][] rows) {
        int k = rows.length == 0 ? 0 : rows[0].length;
        float[] flat = new float[rows.length * k];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, flat, i * k, k);
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("name", name);
        o.put("datatype", "FP32");
        o.put("shape", List.of(rows.length, k));
        o.put("data", flat);
        return o;
    }
}
