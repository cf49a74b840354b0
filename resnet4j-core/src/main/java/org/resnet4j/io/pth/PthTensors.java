package org.resnet4j.io.pth;

import org.resnet4j.io.WeightsFormatException;
import static org.resnet4j.io.pth.PthArchive.MAX_ELEMENTS;
import static org.resnet4j.io.pth.PthArchive.bad;
import static org.resnet4j.io.pth.PthArchive.quote;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import org.resnet4j.io.pth.PickleVm.PyDict;
import org.resnet4j.tensor.Tensor;

/**
 * The tensors of a {@code .pth} file as its pickle describes them, and their conversion to
 * contiguous float32: the storages declared by persistent ids, the views
 * {@code _rebuild_tensor_v2} takes of them, and the gathering of each view's elements from its
 * storage's bytes. Where those bytes lie (a zip entry, a range of a legacy file) is
 * {@link Pth}'s business, reached through a {@link SpanReader}; which pickles may declare
 * storages and views is {@link PthPicklePolicy}'s.
 */
final class PthTensors {
    private PthTensors() {}

    /** The storage dtypes torch pickles as {@code torch.<Name>Storage}, with element sizes. */
    enum StorageType {
        FloatStorage(4, "float32"), HalfStorage(2, "float16"), BFloat16Storage(2, "bfloat16"),
        DoubleStorage(8, "float64"), LongStorage(8, "int64"), IntStorage(4, "int32"), ShortStorage(2, "int16"),
        CharStorage(1, "int8"), ByteStorage(1, "uint8"), BoolStorage(1, "bool");

        final int bytes;
        final String dtype;

        StorageType(int bytes, String dtype) {
            this.bytes = bytes;
            this.dtype = dtype;
        }

        @Override
        public String toString() {
            return "torch." + name();
        }
    }

    /** A storage declared by a persistent id; its data is a zip entry or (legacy) a file range. */
    static final class Storage {
        final String key;
        final StorageType type;
        final long numel;
        ZipEntry entry;
        long dataOffset = -1;

        Storage(String key, StorageType type, long numel) {
            this.key = key;
            this.type = type;
            this.numel = numel;
        }

        @Override
        public String toString() {
            return "storage " + quote(key) + " (" + type + ", " + numel + " elements)";
        }
    }

    /** {@code _rebuild_tensor_v2}'s view, checked against its storage; materialized once the pickle is done. */
    record TensorRef(Storage storage, long offset, int[] shape, long[] stride, int numel) {
        @Override
        public String toString() {
            return "tensor " + Arrays.toString(shape) + " on " + storage;
        }
    }

    /** Reads {@code count} elements of storage {@code s} starting at element {@code first} into {@code out}. */
    interface SpanReader {
        void read(Storage s, long first, int count, float[] out) throws IOException;
    }

    /** The pickle's result as (key, tensor) pairs: a dict of str to tensor, nothing else. */
    static List<Map.Entry<String, TensorRef>> stateDict(Object root, String where) throws WeightsFormatException {
        if (!(root instanceof PyDict d)) {
            throw new WeightsFormatException(where + ": the pickled object is " + PickleVm.describe(root)
                    + ", not a state_dict (a dict of tensors)");
        }
        List<Map.Entry<String, TensorRef>> out = new ArrayList<>();
        for (Map.Entry<Object, Object> kv : d.map.entrySet()) {
            if (!(kv.getKey() instanceof String key)) {
                throw new WeightsFormatException(where + ": state_dict key " + PickleVm.describe(kv.getKey()) + " is not a string");
            }
            if (!(kv.getValue() instanceof TensorRef t)) {
                String hint = kv.getValue() instanceof PyDict
                        ? " (a training checkpoint holding several dicts? save the model's state_dict alone)" : "";
                throw new WeightsFormatException(where + ": value of " + quote(key) + " is "
                        + PickleVm.describe(kv.getValue()) + ", not a tensor" + hint);
            }
            out.add(Map.entry(key, t));
        }
        return out;
    }

    static LinkedHashMap<String, Tensor> materialize(Path file, List<Map.Entry<String, TensorRef>> refs,
            long maxTotalBytes, SpanReader reader) throws IOException {
        long total = 0;
        for (Map.Entry<String, TensorRef> e : refs) total += 4L * e.getValue().numel; // each < 2^33: no overflow
        if (total > maxTotalBytes) {
            throw bad(file, "tensors need " + total + " bytes as float32, over the limit of " + maxTotalBytes + " bytes");
        }
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, TensorRef> e : refs) out.put(e.getKey(), materialize(file, e.getKey(), e.getValue(), reader));
        return out;
    }

    /**
     * Reads the storage range the view touches, [offset, offset + sum((size_i - 1) * stride_i)], and
     * gathers the view's elements from it in row-major order; a contiguous view is that range itself.
     */
    private static Tensor materialize(Path file, String key, TensorRef t, SpanReader reader) throws IOException {
        if (t.numel == 0) return Tensor.of(new float[0], t.shape);
        long last = 0;
        boolean contiguous = true;
        long expect = 1;
        for (int i = t.shape.length - 1; i >= 0; i--) {
            last += (t.shape[i] - 1L) * t.stride[i]; // bounded by the storage size, checked in rebuild()
            if (t.shape[i] != 1 && t.stride[i] != expect) contiguous = false;
            expect *= t.shape[i];
        }
        long span = last + 1;
        if (span > MAX_ELEMENTS) {
            throw bad(file, "tensor " + quote(key) + ": its view spans " + span + " elements of " + t.storage
                    + ", more than one array holds");
        }
        float[] data = allocate((int) span, file, key);
        reader.read(t.storage, t.offset, (int) span, data);
        if (contiguous) return Tensor.of(data, t.shape); // span == numel here
        float[] out = allocate(t.numel, file, key);
        int rank = t.shape.length;
        int[] idx = new int[rank];
        long pos = 0;
        for (int i = 0; i < t.numel; i++) {
            out[i] = data[(int) pos];
            for (int d = rank - 1; d >= 0; d--) { // odometer over the index, last dimension fastest
                if (++idx[d] < t.shape[d]) {
                    pos += t.stride[d];
                    break;
                }
                pos -= (long) (idx[d] - 1) * t.stride[d];
                idx[d] = 0;
            }
        }
        return Tensor.of(out, t.shape);
    }

    private static float[] allocate(int n, Path file, String key) throws WeightsFormatException {
        try { // sizes were validated against the file, so this is a real tensor that may not fit
            return new float[n];
        } catch (OutOfMemoryError oom) {
            throw bad(file, "tensor " + quote(key) + ": not enough memory for " + n + " floats", oom);
        }
    }

    static void decode(StorageType t, ByteBuffer b, float[] out, int off, int n) {
        switch (t) {
            case FloatStorage -> b.asFloatBuffer().get(out, off, n); // the view inherits the byte order
            case DoubleStorage -> { for (int i = 0; i < n; i++) out[off + i] = (float) b.getDouble(); }
            case HalfStorage -> { for (int i = 0; i < n; i++) out[off + i] = Float.float16ToFloat(b.getShort()); }
            // bfloat16 is the upper half of a float32, so widening is exact for every value
            case BFloat16Storage -> { for (int i = 0; i < n; i++) out[off + i] = Float.intBitsToFloat((b.getShort() & 0xFFFF) << 16); }
            case LongStorage -> { for (int i = 0; i < n; i++) out[off + i] = b.getLong(); }
            case IntStorage -> { for (int i = 0; i < n; i++) out[off + i] = b.getInt(); }
            case ShortStorage -> { for (int i = 0; i < n; i++) out[off + i] = b.getShort(); }
            case CharStorage -> { for (int i = 0; i < n; i++) out[off + i] = b.get(); }
            case ByteStorage -> { for (int i = 0; i < n; i++) out[off + i] = b.get() & 0xFF; }
            case BoolStorage -> { for (int i = 0; i < n; i++) out[off + i] = b.get() != 0 ? 1f : 0f; }
        }
    }
}
