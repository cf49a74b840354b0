package org.resnet4j.io;

import static java.nio.charset.StandardCharsets.US_ASCII;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.resnet4j.io.PickleVm.PyDict;
import org.resnet4j.io.PickleVm.PyList;
import org.resnet4j.io.PickleVm.Tuple;
import org.resnet4j.tensor.Tensor;

/**
 * Reads a PyTorch {@code state_dict} written by {@code torch.save(model.state_dict(), "x.pth")},
 * in pure Java and without running any of the file's code.
 *
 * <p>Both layouts of torch/serialization.py are read:
 * <ul>
 *   <li>the zip format (torch >= 1.6, {@code _save}): a zip archive whose entries all sit under one
 *       directory named after the file ({@code x/} for x.pth, {@code archive/} in newer versions):
 *       {@code data.pkl} (the pickled dict), {@code data/<key>} (one raw little-endian storage per
 *       key), {@code version}, and since torch 2.1 {@code byteorder} ("little" or "big");
 *   <li>the legacy format ({@code _legacy_save}, {@code _use_new_zipfile_serialization=False}):
 *       five pickles in a row — magic number 0x1950a86a20f9469cfc6c, protocol version 1001,
 *       sys_info, the dict itself, the sorted list of storage keys — then each storage's raw data
 *       in that order, preceded by its element count as a little-endian int64.
 * </ul>
 *
 * <p>The pickles are run by {@link PickleVm}, a restricted unpickler. The only globals it accepts are
 * {@code collections.OrderedDict}, {@code torch._utils._rebuild_tensor_v2}/{@code _rebuild_tensor}/
 * {@code _rebuild_parameter} and the {@code torch.*Storage} types; each is a Java value of this
 * class, so REDUCE can only ever "call" one of these four rebuild functions, interpreted here.
 * Anything else ({@code os.system}, {@code builtins.eval}, ...) is refused with a
 * {@link WeightsFormatException} naming it. Storages are persistent ids
 * {@code ('storage', storage_type, key, location, numel)}; tensors are
 * {@code _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])} and
 * may be arbitrary non-negative-stride views (transposes, slices, expands), several per storage.
 *
 * <p>Every claim of the file is checked before memory is committed to it: a storage's declared size
 * against its zip entry or the file, each view's extent against its storage, the total output
 * against {@link #MAX_TOTAL_BYTES}. Results are contiguous float32 tensors, keys in the file's order.
 */
public final class PthReader {
    /** Cap on the float32 bytes of all tensors of one file. */
    static final long MAX_TOTAL_BYTES = 8L << 30;
    /** Cap on one pickle; a resnet152 state_dict pickles to about 60 KB. */
    static final long MAX_PICKLE_BYTES = 64L << 20;
    /** Most elements one tensor may have: the float[] limit, as in {@link Tensor#numel}. */
    static final long MAX_ELEMENTS = Integer.MAX_VALUE - 16;
    /** DEFLATE cannot expand data by more than about 1032:1 (RFC 1951 block limits); more is a zip bomb. */
    private static final long MAX_DEFLATE_RATIO = 1032;
    /** Read chunk size: a multiple of every element size, so no element straddles two chunks. */
    private static final int CHUNK = 1 << 20;
    private static final BigInteger LEGACY_MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);
    private static final long LEGACY_PROTOCOL_VERSION = 1001;

    private PthReader() {}

    /**
     * Reads every tensor of the state_dict in {@code file}, converted to contiguous float32
     * (integers and bools to their values, num_batches_tracked included), in the file's key order.
     */
    public static LinkedHashMap<String, Tensor> read(Path file) throws WeightsFormatException {
        return read(file, MAX_TOTAL_BYTES);
    }

    /** {@link #read(Path)} with another cap on the float32 bytes of all tensors (tests use small ones). */
    static LinkedHashMap<String, Tensor> read(Path file, long maxTotalBytes) throws WeightsFormatException {
        byte[] head = new byte[4];
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            readFully(ch, ByteBuffer.wrap(head, 0, (int) Math.min(4, size)), 0, file);
            if (size >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) {
                ch.close();
                return readZip(file, size, maxTotalBytes);
            }
            if (size >= 2 && (head[0] & 0xFF) == 0x80) return readLegacy(file, ch, size, maxTotalBytes);
            if (size == 0) throw bad(file, "file is empty");
            throw bad(file, "not a PyTorch file: neither a zip archive (torch >= 1.6) nor a legacy pickle stream"
                    + " (nor the tar format of torch 0.1, which is not supported)");
        } catch (WeightsFormatException e) {
            throw e;
        } catch (IOException e) {
            throw new WeightsFormatException(file + ": cannot read file: " + e, e);
        }
    }

    // ================================================================================ zip format
    private static LinkedHashMap<String, Tensor> readZip(Path file, long fileSize, long maxTotalBytes) throws IOException {
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (IOException | RuntimeException e) {
            throw bad(file, "not a readable zip archive: " + e.getMessage(), e);
        }
        try (zip) {
            String prefix = null;
            boolean torchScript = false;
            try {
                for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
                    String name = en.nextElement().getName();
                    int slash = name.indexOf('/');
                    if (slash > 0 && name.endsWith("/constants.pkl")) torchScript = true;
                    if (slash > 0 && name.substring(slash + 1).equals("data.pkl")) {
                        // torch's PyTorchStreamReader takes the archive name from the first entry; any name is valid
                        if (prefix != null) throw bad(file, "zip archive holds two pickles, " + quote(prefix + "/data.pkl") + " and " + quote(name));
                        prefix = name.substring(0, slash);
                    }
                }
            } catch (RuntimeException e) { // ZipFile reports some malformed central directories unchecked
                throw bad(file, "malformed zip archive: " + e, e);
            }
            if (prefix == null) throw bad(file, "zip archive has no <name>/data.pkl entry: not a file written by torch.save");
            if (torchScript) {
                throw bad(file, "a TorchScript archive (torch.jit.save), not a state_dict saved with torch.save");
            }
            ZipEntry pklEntry = entry(zip, prefix + "/data.pkl", file);
            String where = file + ": " + pklEntry.getName();
            long pklSize = checkedSize(zip, pklEntry, fileSize, file);
            if (pklSize > MAX_PICKLE_BYTES) throw bad(file, pklEntry.getName() + " is " + pklSize + " bytes, over the limit of " + MAX_PICKLE_BYTES);
            byte[] pkl = readEntry(zip, pklEntry, (int) pklSize, file);

            ByteOrder order = ByteOrder.LITTLE_ENDIAN; // torch < 2.1 has no byteorder record and wrote little-endian
            ZipEntry bo = entry(zip, prefix + "/byteorder", file);
            if (bo != null) {
                long n = checkedSize(zip, bo, fileSize, file);
                String s = n > 16 ? "?" : new String(readEntry(zip, bo, (int) n, file), US_ASCII).strip();
                if (s.equals("big")) order = ByteOrder.BIG_ENDIAN;
                else if (!s.equals("little")) throw bad(file, bo.getName() + " is " + quote(s) + ", not \"little\" or \"big\"");
            }

            TorchPolicy policy = new TorchPolicy(file, false, zip, prefix, fileSize);
            Object root = PickleVm.load(new BytesInput(pkl), policy, where, MAX_PICKLE_BYTES);
            List<Map.Entry<String, TensorRef>> refs = stateDict(root, where);
            ByteOrder o = order;
            return materialize(file, refs, maxTotalBytes, (s, first, count, out) -> readZipSpan(zip, s, first, count, out, o, file));
        } catch (IOException e) {
            if (e instanceof WeightsFormatException w) throw w;
            throw bad(file, "cannot read zip archive: " + e, e);
        }
    }

    private static ZipEntry entry(ZipFile zip, String name, Path file) throws WeightsFormatException {
        try {
            return zip.getEntry(name);
        } catch (RuntimeException e) {
            throw bad(file, "malformed zip entry " + quote(name) + ": " + e, e);
        }
    }

    /**
     * An entry's uncompressed size from the central directory, refusing sizes that its stored bytes
     * cannot produce, so that no later allocation or read trusts an inflated claim.
     */
    private static long checkedSize(ZipFile zip, ZipEntry e, long fileSize, Path file) throws WeightsFormatException {
        long size = e.getSize(), csize = e.getCompressedSize();
        if (size < 0 || csize < 0) throw bad(file, "zip entry " + quote(e.getName()) + " has an unknown size");
        if (csize > fileSize) throw bad(file, "zip entry " + quote(e.getName()) + " claims " + csize + " compressed bytes in a " + fileSize + "-byte file");
        boolean stored = e.getMethod() == ZipEntry.STORED;
        if (stored ? size != csize : size / MAX_DEFLATE_RATIO > csize + 1) {
            throw bad(file, "zip entry " + quote(e.getName()) + " claims " + size + " bytes from " + csize
                    + " compressed bytes, more than " + (stored ? "a stored entry holds" : "DEFLATE can produce (zip bomb?)"));
        }
        return size;
    }

    /** Exactly n bytes of an entry (n small: a pickle or the byteorder record). */
    private static byte[] readEntry(ZipFile zip, ZipEntry e, int n, Path file) throws IOException {
        try (InputStream in = zip.getInputStream(e)) {
            byte[] b = in.readNBytes(n);
            if (b.length != n) throw bad(file, "zip entry " + quote(e.getName()) + " ends after " + b.length + " of its " + n + " bytes");
            return b;
        } catch (RuntimeException ex) {
            throw bad(file, "malformed zip entry " + quote(e.getName()) + ": " + ex, ex);
        }
    }

    private static void readZipSpan(ZipFile zip, Storage s, long first, int count, float[] out, ByteOrder order, Path file)
            throws IOException {
        int es = s.type.bytes;
        try (InputStream in = zip.getInputStream(s.entry)) {
            in.skipNBytes(first * es); // cheap for STORED entries, which is what torch writes
            byte[] buf = new byte[(int) Math.min(CHUNK, (long) count * es)];
            ByteBuffer bb = ByteBuffer.wrap(buf).order(order);
            for (int done = 0; done < count; ) {
                int n = Math.min(buf.length / es, count - done);
                int got = in.readNBytes(buf, 0, n * es);
                if (got != n * es) throw bad(file, s + ": zip entry " + quote(s.entry.getName()) + " ends early");
                bb.clear().limit(n * es);
                decode(s.type, bb, out, done, n);
                done += n;
            }
        } catch (RuntimeException ex) {
            throw bad(file, "malformed zip entry " + quote(s.entry.getName()) + ": " + ex, ex);
        }
    }

    // ================================================================================ legacy format
    private static LinkedHashMap<String, Tensor> readLegacy(Path file, FileChannel ch, long size, long maxTotalBytes)
            throws IOException {
        ChannelInput in = new ChannelInput(ch, size);
        String where = file + ": legacy format";
        Object magic = PickleVm.load(in, NO_GLOBALS, where + " magic number", 64);
        if (!(magic instanceof BigInteger m && m.equals(LEGACY_MAGIC))) {
            throw bad(file, "not a PyTorch file: a pickle stream without torch's magic number (got "
                    + PickleVm.describe(magic) + ")");
        }
        Object version = PickleVm.load(in, NO_GLOBALS, where + " protocol version", 64);
        if (!(version instanceof Long v && v == LEGACY_PROTOCOL_VERSION)) {
            throw bad(file, "unsupported legacy protocol version " + PickleVm.describe(version) + " (expected 1001)");
        }
        // sys_info records the writer's byte order and C type sizes; torch.load ignores it, because the
        // storage writer (THPStorage_writeFileRaw) always stores counts and data little-endian.
        Object sysInfo = PickleVm.load(in, NO_GLOBALS, where + " sys_info", 1 << 16);
        if (!(sysInfo instanceof PyDict)) throw bad(file, "legacy sys_info is " + PickleVm.describe(sysInfo) + ", not a dict");

        TorchPolicy policy = new TorchPolicy(file, true, null, null, size);
        Object root = PickleVm.load(in, policy, where, MAX_PICKLE_BYTES);
        List<Map.Entry<String, TensorRef>> refs = stateDict(root, where);
        Object keys = PickleVm.load(in, NO_GLOBALS, where + " storage key list", MAX_PICKLE_BYTES);
        if (!(keys instanceof PyList list)) throw bad(file, "legacy storage key list is " + PickleVm.describe(keys) + ", not a list");

        long pos = in.position();
        ByteBuffer count = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        for (Object k : list.items) {
            if (!(k instanceof String key)) throw bad(file, "legacy storage key " + PickleVm.describe(k) + " is not a string");
            Storage s = policy.storages.get(key);
            if (s == null) throw bad(file, "legacy storage key list names " + quote(key) + ", which no tensor uses");
            if (s.dataOffset >= 0) throw bad(file, "legacy storage key list names " + quote(key) + " twice");
            if (size - pos < 8) throw bad(file, s + ": file ends at byte " + size + " before its element count (truncated?)");
            count.clear();
            readFully(ch, count, pos, file);
            long n = count.getLong(0);
            if (n != s.numel) throw bad(file, s + ": the file stores " + n + " elements for it");
            long bytes = s.numel * s.type.bytes; // numel <= file size was checked when declared
            if (bytes > size - pos - 8) {
                throw bad(file, s + ": its " + bytes + " bytes at offset " + (pos + 8) + " run past the end of the "
                        + size + "-byte file (truncated?)");
            }
            s.dataOffset = pos + 8;
            pos += 8 + bytes;
        }
        for (Storage s : policy.storages.values()) {
            if (s.dataOffset < 0) throw bad(file, s + " has no data in the file (missing from the storage key list)");
        }
        return materialize(file, refs, maxTotalBytes, (s, first, n, out) -> readChannelSpan(ch, s, first, n, out, file));
    }

    private static void readChannelSpan(FileChannel ch, Storage s, long first, int count, float[] out, Path file)
            throws IOException {
        int es = s.type.bytes;
        ByteBuffer bb = ByteBuffer.allocate((int) Math.min(CHUNK, (long) count * es)).order(ByteOrder.LITTLE_ENDIAN);
        long pos = s.dataOffset + first * es;
        for (int done = 0; done < count; ) {
            int n = Math.min(bb.capacity() / es, count - done);
            bb.clear().limit(n * es);
            readFully(ch, bb, pos, file);
            bb.flip();
            decode(s.type, bb, out, done, n);
            done += n;
            pos += (long) n * es;
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos, Path file) throws IOException {
        while (b.hasRemaining()) {
            int r = ch.read(b, pos);
            if (r < 0) throw bad(file, "file ended at byte " + pos + " (truncated while being read?)");
            pos += r;
        }
    }

    // ================================================================================ tensors
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

    /** The four callables the allow-list hands out; REDUCE interprets nothing else. */
    enum Fn {
        ORDERED_DICT("collections", "OrderedDict"),
        REBUILD_TENSOR_V2("torch._utils", "_rebuild_tensor_v2"),
        REBUILD_TENSOR("torch._utils", "_rebuild_tensor"),
        REBUILD_PARAMETER("torch._utils", "_rebuild_parameter");

        final String module, name;

        Fn(String module, String name) {
            this.module = module;
            this.name = name;
        }

        @Override
        public String toString() {
            return module + "." + name;
        }
    }

    /** A storage declared by a persistent id; its data is a zip entry or (legacy) a file range. */
    private static final class Storage {
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
    private record TensorRef(Storage storage, long offset, int[] shape, long[] stride, int numel) {
        @Override
        public String toString() {
            return "tensor " + Arrays.toString(shape) + " on " + storage;
        }
    }

    /** Reads {@code count} elements of storage {@code s} starting at element {@code first} into {@code out}. */
    private interface SpanReader {
        void read(Storage s, long first, int count, float[] out) throws IOException;
    }

    /** The pickle's result as (key, tensor) pairs: a dict of str to tensor, nothing else. */
    private static List<Map.Entry<String, TensorRef>> stateDict(Object root, String where) throws WeightsFormatException {
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

    private static LinkedHashMap<String, Tensor> materialize(Path file, List<Map.Entry<String, TensorRef>> refs,
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

    private static void decode(StorageType t, ByteBuffer b, float[] out, int off, int n) {
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

    // ================================================================================ the allow-list
    /** For the legacy preamble and key list: plain values only. */
    private static final PickleVm.Policy NO_GLOBALS = new PickleVm.Policy() {
        @Override
        public Object global(String module, String name, String at) throws WeightsFormatException {
            throw new WeightsFormatException(at + ": refused global " + quote(module + "." + name)
                    + " in a pickle that holds plain values only (the file may be malicious)");
        }

        @Override
        public Object reduce(Object callable, Tuple args, String at) throws WeightsFormatException {
            throw new WeightsFormatException(at + ": refused REDUCE of " + PickleVm.describe(callable));
        }

        @Override
        public void build(Object target, Object state, String at) throws WeightsFormatException {
            throw new WeightsFormatException(at + ": refused BUILD on " + PickleVm.describe(target));
        }

        @Override
        public Object newObj(Object cls, Tuple args, String at) throws WeightsFormatException {
            throw new WeightsFormatException(at + ": refused NEWOBJ of " + PickleVm.describe(cls));
        }

        @Override
        public Object persistentLoad(Object pid, String at) throws WeightsFormatException {
            throw new WeightsFormatException(at + ": unexpected persistent id " + PickleVm.describe(pid));
        }
    };

    /** torch.load's unpickler reduced to what a state_dict needs (torch/serialization.py, torch/_utils.py). */
    private static final class TorchPolicy implements PickleVm.Policy {
        final Path file;
        final boolean legacy;
        final ZipFile zip;
        final String prefix;
        final long fileSize;
        final LinkedHashMap<String, Storage> storages = new LinkedHashMap<>();

        TorchPolicy(Path file, boolean legacy, ZipFile zip, String prefix, long fileSize) {
            this.file = file;
            this.legacy = legacy;
            this.zip = zip;
            this.prefix = prefix;
            this.fileSize = fileSize;
        }

        @Override
        public Object global(String module, String name, String at) throws WeightsFormatException {
            for (Fn f : Fn.values()) if (f.module.equals(module) && f.name.equals(name)) return f;
            if (module.equals("torch")) {
                for (StorageType t : StorageType.values()) if (t.name().equals(name)) return t;
            }
            String hint = module.startsWith("__torch__") ? " (a TorchScript archive, not a state_dict)"
                    : "; loading it with Python's pickle or torch.load(weights_only=False) could run code";
            throw new WeightsFormatException(at + ": refused global " + quote(module + "." + name)
                    + ": only collections.OrderedDict, torch._utils._rebuild_tensor_v2/_rebuild_tensor/_rebuild_parameter"
                    + " and torch.*Storage are allowed" + hint);
        }

        @Override
        public Object reduce(Object callable, Tuple args, String at) throws WeightsFormatException {
            if (!(callable instanceof Fn fn)) {
                throw new WeightsFormatException(at + ": refused REDUCE: " + PickleVm.describe(callable) + " is not an allowed function");
            }
            return switch (fn) {
                case ORDERED_DICT -> {
                    // torch pickles OrderedDict() empty and adds the items with SETITEMS
                    if (args.size() != 0) throw bad(at, "OrderedDict called with arguments " + PickleVm.describe(args));
                    yield new PyDict(true);
                }
                case REBUILD_TENSOR_V2 -> {
                    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
                    if (args.size() != 6 && args.size() != 7) throw arity(at, fn, "6 or 7", args);
                    if (!(args.get(4) instanceof Boolean)) throw bad(at, "requires_grad is " + PickleVm.describe(args.get(4)));
                    if (!(args.get(5) instanceof PyDict)) throw bad(at, "backward_hooks is " + PickleVm.describe(args.get(5)));
                    // metadata (torch >= 2.0) carries flags like conj/neg bits, which real tensors never set
                    if (args.size() == 7 && !(args.get(6) instanceof PyDict || args.get(6) == PickleVm.None.NONE)) {
                        throw bad(at, "tensor metadata is " + PickleVm.describe(args.get(6)));
                    }
                    yield rebuild(args, at);
                }
                case REBUILD_TENSOR -> {
                    if (args.size() != 4) throw arity(at, fn, "4", args);
                    yield rebuild(args, at);
                }
                case REBUILD_PARAMETER -> {
                    // (data, requires_grad, backward_hooks): an nn.Parameter is its tensor here
                    if (args.size() != 3) throw arity(at, fn, "3", args);
                    if (!(args.get(0) instanceof TensorRef t)) throw bad(at, "parameter data is " + PickleVm.describe(args.get(0)));
                    if (!(args.get(1) instanceof Boolean)) throw bad(at, "requires_grad is " + PickleVm.describe(args.get(1)));
                    if (!(args.get(2) instanceof PyDict)) throw bad(at, "backward_hooks is " + PickleVm.describe(args.get(2)));
                    yield t;
                }
            };
        }

        /** Validates a view against its storage: non-negative sizes and strides, every index inside the storage. */
        private TensorRef rebuild(Tuple args, String at) throws WeightsFormatException {
            if (!(args.get(0) instanceof Storage s)) throw bad(at, "tensor storage is " + PickleVm.describe(args.get(0)) + ", not a storage");
            if (!(args.get(1) instanceof Long offset) || offset < 0) {
                throw bad(at, "storage_offset is " + PickleVm.describe(args.get(1)) + ", not a non-negative int");
            }
            if (!(args.get(2) instanceof Tuple size) || !(args.get(3) instanceof Tuple stride) || size.size() != stride.size()) {
                throw bad(at, "size " + PickleVm.describe(args.get(2)) + " and stride " + PickleVm.describe(args.get(3))
                        + " are not two int tuples of one length");
            }
            int rank = size.size();
            int[] shape = new int[rank];
            long[] strides = new long[rank];
            long numel = 1, last = offset;
            for (int i = 0; i < rank; i++) {
                if (!(size.get(i) instanceof Long d) || d < 0 || d > Integer.MAX_VALUE) {
                    throw bad(at, "size " + PickleVm.describe(size) + ": dimension " + i + " is not an int in [0, 2^31)");
                }
                if (!(stride.get(i) instanceof Long st) || st < 0) {
                    throw bad(at, "stride " + PickleVm.describe(stride) + ": entry " + i + " is not a non-negative int"
                            + " (negative strides are refused)");
                }
                shape[i] = (int) (long) d;
                strides[i] = st;
                // A running product, as Tensor.numel checks it: [2^31-1, 2^31-1, 0] is refused too.
                numel *= d; // both factors < 2^31: no overflow
                if (numel > MAX_ELEMENTS) {
                    throw bad(at, "tensor of size " + PickleVm.describe(size) + " has more than " + MAX_ELEMENTS + " elements");
                }
            }
            if (numel > 0) {
                try {
                    for (int i = 0; i < rank; i++) last = Math.addExact(last, Math.multiplyExact(shape[i] - 1L, strides[i]));
                } catch (ArithmeticException e) {
                    last = Long.MAX_VALUE;
                }
                if (last >= s.numel) {
                    throw bad(at, "view (offset " + offset + ", size " + Arrays.toString(shape) + ", stride "
                            + Arrays.toString(strides) + ") reaches element " + (last == Long.MAX_VALUE ? "beyond 2^63" : last)
                            + " of " + s);
                }
            }
            return new TensorRef(s, offset, shape, strides, (int) numel);
        }

        @Override
        public void build(Object target, Object state, String at) throws WeightsFormatException {
            // OrderedDict.__reduce__ passes the instance __dict__ as state: for a state_dict that is
            // {'_metadata': {module: {'version': n}}}, which says nothing about the tensors: ignore it.
            if (target instanceof PyDict d && d.ordered && state instanceof PyDict attrs
                    && attrs.map.keySet().stream().allMatch(k -> k instanceof String)) {
                return;
            }
            throw bad(at, "refused BUILD on " + PickleVm.describe(target) + " with state " + PickleVm.describe(state)
                    + ": only OrderedDict attributes are accepted");
        }

        @Override
        public Object newObj(Object cls, Tuple args, String at) throws WeightsFormatException {
            if (cls == Fn.ORDERED_DICT && args.size() == 0) return new PyDict(true);
            throw bad(at, "refused NEWOBJ of " + PickleVm.describe(cls) + ": only OrderedDict() may be created");
        }

        /**
         * {@code ('storage', storage_type, key, location, numel)}, plus {@code view_metadata} in the
         * legacy format (always None since torch 0.4). A key seen before must repeat its declaration.
         */
        @Override
        public Object persistentLoad(Object pid, String at) throws WeightsFormatException {
            int arity = legacy ? 6 : 5;
            if (!(pid instanceof Tuple t) || t.size() != arity || !"storage".equals(ascii(t.get(0)))) {
                throw bad(at, "persistent id " + PickleVm.describe(pid) + " is not ('storage', type, key, location, numel"
                        + (legacy ? ", view_metadata)" : ")"));
            }
            if (!(t.get(1) instanceof StorageType type)) throw bad(at, "storage type " + PickleVm.describe(t.get(1)) + " is not a torch.*Storage");
            if (!(t.get(2) instanceof String key)) throw bad(at, "storage key " + PickleVm.describe(t.get(2)) + " is not a string");
            if (ascii(t.get(3)) == null) throw bad(at, "storage location " + PickleVm.describe(t.get(3)) + " is not a string");
            if (!(t.get(4) instanceof Long numel) || numel < 0) {
                throw bad(at, "storage " + quote(key) + " declares " + PickleVm.describe(t.get(4)) + " elements");
            }
            if (legacy && t.get(5) != PickleVm.None.NONE) {
                throw bad(at, "storage " + quote(key) + " is a storage view (torch < 0.4), which is not supported");
            }
            Storage s = storages.get(key);
            if (s != null) {
                if (s.type != type || s.numel != numel) {
                    throw bad(at, "storage " + quote(key) + " declared again as " + type + " with " + numel + " elements; first as "
                            + s.type + " with " + s.numel);
                }
                return s;
            }
            s = new Storage(key, type, numel);
            long bytes;
            try {
                bytes = Math.multiplyExact(numel, (long) type.bytes);
            } catch (ArithmeticException e) {
                bytes = Long.MAX_VALUE;
            }
            if (legacy) {
                if (bytes > fileSize) throw bad(at, s + " needs " + bytes + " bytes, more than the " + fileSize + "-byte file holds");
            } else {
                String name = prefix + "/data/" + key;
                ZipEntry e = entry(zip, name, file);
                if (e == null) throw bad(at, s + ": the archive has no entry " + quote(name));
                long size = checkedSize(zip, e, fileSize, file);
                if (size != bytes) {
                    throw bad(at, s + " needs " + bytes + " bytes but zip entry " + quote(name) + " holds "
                            + size + (size < bytes ? " (storage too short)" : ""));
                }
                s.entry = e;
            }
            storages.put(key, s);
            return s;
        }

        /** torch's _maybe_decode_ascii: Python 2 files may hold these strings as bytes. */
        private static String ascii(Object o) {
            if (o instanceof String s) return s;
            if (o instanceof byte[] b) {
                for (byte x : b) if (x < 0) return null;
                return new String(b, US_ASCII);
            }
            return null;
        }

        private static WeightsFormatException arity(String at, Fn fn, String want, Tuple args) {
            return bad(at, fn + " takes " + want + " arguments, got " + args.size());
        }

        private static WeightsFormatException bad(String at, String msg) {
            return new WeightsFormatException(at + ": " + msg);
        }
    }

    // ================================================================================ inputs
    /** data.pkl, read whole from its zip entry. */
    private static final class BytesInput implements PickleVm.Input {
        private final byte[] b;
        private int pos;

        BytesInput(byte[] b) {
            this.b = b;
        }

        @Override
        public int read() {
            return pos < b.length ? b[pos++] & 0xFF : -1;
        }

        @Override
        public byte[] readBytes(int n) {
            byte[] out = Arrays.copyOfRange(b, pos, pos + n);
            pos += n;
            return out;
        }

        @Override
        public long remaining() {
            return b.length - pos;
        }

        @Override
        public long position() {
            return pos;
        }
    }

    /** The legacy file, read through a buffer from position 0 on; the pickles' lengths are not recorded. */
    private static final class ChannelInput implements PickleVm.Input {
        private final FileChannel ch;
        private final long size;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16);
        private long bufStart; // file position of buf[0]

        ChannelInput(FileChannel ch, long size) {
            this.ch = ch;
            this.size = size;
            buf.limit(0);
        }

        @Override
        public int read() throws IOException {
            if (!buf.hasRemaining() && !fill()) return -1;
            return buf.get() & 0xFF;
        }

        @Override
        public byte[] readBytes(int n) throws IOException {
            byte[] out = new byte[n];
            for (int done = 0; done < n; ) {
                if (!buf.hasRemaining() && !fill()) throw new IOException("file ended at byte " + position());
                int k = Math.min(n - done, buf.remaining());
                buf.get(out, done, k);
                done += k;
            }
            return out;
        }

        private boolean fill() throws IOException {
            bufStart += buf.limit();
            buf.clear();
            int r = bufStart < size ? ch.read(buf, bufStart) : -1;
            buf.flip();
            return r > 0;
        }

        @Override
        public long remaining() {
            return size - position();
        }

        @Override
        public long position() {
            return bufStart + buf.position();
        }
    }

    // ================================================================================ messages
    private static WeightsFormatException bad(Path file, String msg) {
        return bad(file, msg, null);
    }

    private static WeightsFormatException bad(Path file, String msg, Throwable cause) {
        return new WeightsFormatException(file + ": " + msg, cause);
    }

    /** Keys and names come from the file, so bound their length in messages. */
    static String quote(String s) {
        return "'" + (s.length() > 200 ? s.substring(0, 200) + "..." : s) + "'";
    }
}
