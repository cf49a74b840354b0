package org.resnet4j.io.safetensors;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.resnet4j.io.AtomicFile;
import org.resnet4j.io.WeightsFormatException;
import org.resnet4j.io.json.Json;
import org.resnet4j.io.json.JsonException;
import org.resnet4j.io.json.JsonNumber;
import org.resnet4j.tensor.Tensor;

/**
 * Reader and writer for the safetensors format (https://github.com/huggingface/safetensors):
 *
 * <pre>
 *   8 bytes  N, an unsigned little-endian 64-bit integer: the size of the header
 *   N bytes  a UTF-8 JSON object {"key": {"dtype": "F16", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
 *            with an optional "__metadata__": {string: string} entry; may be padded with trailing spaces
 *   rest     the byte buffer: little-endian, row-major values; offsets are relative to its start
 * </pre>
 *
 * <p>A weights file is untrusted input (downloaded checkpoints), so the reader checks everything the
 * header claims against the file before it allocates or reads any tensor data, and reports every
 * defect as a {@link WeightsFormatException} naming the file, the key and the values at fault. Data
 * is read with positional {@link FileChannel} reads in bounded chunks, converting to float32.
 */
public final class SafeTensors {
    /** The reference implementation's cap on N (MAX_HEADER_SIZE); bounds the one header allocation. */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    /** Most elements one tensor may have: the float[] limit, as in {@link Tensor#numel}. */
    static final long MAX_ELEMENTS = Integer.MAX_VALUE - 16;
    private static final String METADATA_KEY = "__metadata__";
    /** Read/write chunk size: a multiple of every dtype size, so no element straddles two chunks. */
    private static final int CHUNK = 1 << 20;

    private SafeTensors() {}

    /** Tensors in header order, and the "__metadata__" map (empty if the file has none). */
    public record Contents(LinkedHashMap<String, Tensor> tensors, Map<String, String> metadata) {}

    /** The dtypes this reader converts to float32, with their sizes in bytes (names as in the spec). */
    private enum DType {
        F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);
        final int bytes;
        DType(int bytes) { this.bytes = bytes; }
    }

    /** One header entry, already validated against the file. */
    private record Entry(String key, DType dtype, int[] shape, int numel, long begin, long end) {
        String describe() {
            return "tensor " + quote(key) + " (" + dtype + ", shape " + Arrays.toString(shape) + ")";
        }
    }

    /** Reads every tensor of {@code file}, converted to float32. */
    public static Contents read(Path file) throws WeightsFormatException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw bad(file, "file is " + size + " bytes, shorter than the 8-byte header length");
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, len, 0, file);
            long n = len.getLong(0); // a u64: values >= 2^63 read as negative longs
            if (n < 0 || n > MAX_HEADER_BYTES) {
                throw bad(file, "header length " + Long.toUnsignedString(n) + " exceeds the limit of "
                        + MAX_HEADER_BYTES + " bytes");
            }
            if (n > size - 8) {
                throw bad(file, "header length " + n + " exceeds the " + (size - 8) + " bytes after the length field");
            }
            ByteBuffer header = ByteBuffer.allocate((int) n);
            readFully(ch, header, 8, file);
            header.flip();
            Map<String, String> metadata = new LinkedHashMap<>();
            List<Entry> entries = parseHeader(file, header, size - 8 - n, metadata);

            long largest = 8;
            for (Entry e : entries) largest = Math.max(largest, e.end - e.begin);
            ByteBuffer chunk = ByteBuffer.allocate((int) Math.min(CHUNK, largest)).order(ByteOrder.LITTLE_ENDIAN);
            LinkedHashMap<String, Tensor> tensors = new LinkedHashMap<>();
            for (Entry e : entries) tensors.put(e.key, readTensor(ch, 8 + n, e, chunk, file));
            return new Contents(tensors, Collections.unmodifiableMap(metadata));
        } catch (WeightsFormatException e) {
            throw e;
        } catch (IOException e) {
            throw new WeightsFormatException(file + ": cannot read file: " + e, e);
        }
    }

    private static List<Entry> parseHeader(Path file, ByteBuffer bytes, long bufferLen, Map<String, String> metadata)
            throws WeightsFormatException {
        String json;
        try { // the spec requires UTF-8; refuse invalid sequences rather than decode them to U+FFFD
            json = UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(bytes).toString();
        } catch (CharacterCodingException e) {
            throw bad(file, "header is not valid UTF-8", e);
        }
        Object root;
        try { // RFC 8259 only: no comments, single quotes, NaN, duplicate names, data after the object
            root = Json.parseExact(json);
        } catch (JsonException e) {
            throw bad(file, "header is not valid JSON: " + e.getMessage(), e);
        }
        if (!(root instanceof Map<?, ?> rootMap)) throw bad(file, "header is not a JSON object");

        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<?, ?> kv : rootMap.entrySet()) {
            String key = (String) kv.getKey();
            if (key.equals(METADATA_KEY)) {
                parseMetadata(file, kv.getValue(), metadata);
            } else {
                entries.add(parseEntry(file, key, kv.getValue(), bufferLen));
            }
        }
        // Tensors may not share bytes (the reference requires disjoint ranges). Empty ranges hold no bytes.
        List<Entry> sorted = entries.stream().filter(e -> e.end > e.begin).sorted(Comparator.comparingLong(Entry::begin)).toList();
        for (int i = 1; i < sorted.size(); i++) {
            Entry p = sorted.get(i - 1), c = sorted.get(i);
            if (c.begin < p.end) {
                throw bad(file, c.describe() + " data_offsets [" + c.begin + ", " + c.end + "] overlap "
                        + p.describe() + " data_offsets [" + p.begin + ", " + p.end + "]");
            }
        }
        return entries;
    }

    private static void parseMetadata(Path file, Object v, Map<String, String> out) throws WeightsFormatException {
        if (!(v instanceof Map<?, ?> meta)) throw bad(file, METADATA_KEY + " is " + brief(v) + ", not a JSON object");
        for (Map.Entry<?, ?> m : meta.entrySet()) {
            String key = (String) m.getKey();
            if (!(m.getValue() instanceof String val)) {
                throw bad(file, METADATA_KEY + " value of " + quote(key) + " is " + brief(m.getValue()) + ", not a string");
            }
            out.put(key, val);
        }
    }

    private static Entry parseEntry(Path file, String key, Object v, long bufferLen) throws WeightsFormatException {
        String at = "tensor " + quote(key);
        if (!(v instanceof Map<?, ?> o)) throw bad(file, at + ": entry is " + brief(v) + ", not a JSON object");
        for (String field : new String[] {"dtype", "shape", "data_offsets"}) {
            if (!o.containsKey(field)) throw bad(file, at + ": entry has no \"" + field + "\"");
        }
        if (!(o.get("dtype") instanceof String d)) throw bad(file, at + ": dtype is " + brief(o.get("dtype")) + ", not a string");
        DType dtype = Arrays.stream(DType.values()).filter(t -> t.name().equals(d)).findFirst().orElse(null);
        if (dtype == null) {
            throw bad(file, at + ": unsupported dtype " + quote(d) + " (supported: " + Arrays.toString(DType.values()) + ")");
        }
        Object s = o.get("shape");
        if (!(s instanceof List<?> sa)) throw bad(file, at + ": shape is " + brief(s) + ", not an array");
        int[] shape = new int[sa.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = (int) nonNegativeInt(file, at + " (" + dtype + ")", "shape[" + i + "]", sa.get(i), Integer.MAX_VALUE);
            numel *= shape[i]; // both factors <= 2^31, so no long overflow before the check
            if (numel > MAX_ELEMENTS) {
                throw bad(file, at + " (" + dtype + "): shape " + brief(s) + " has more than " + MAX_ELEMENTS + " elements");
            }
        }
        String desc = at + " (" + dtype + ", shape " + Arrays.toString(shape) + ")";
        Object off = o.get("data_offsets");
        if (!(off instanceof List<?> offs2) || offs2.size() != 2) {
            throw bad(file, desc + ": data_offsets is " + brief(off) + ", not an array [begin, end]");
        }
        long begin = nonNegativeInt(file, desc, "data_offsets[0]", offs2.get(0), Long.MAX_VALUE);
        long end = nonNegativeInt(file, desc, "data_offsets[1]", offs2.get(1), Long.MAX_VALUE);
        String offs = "data_offsets [" + begin + ", " + end + "]";
        if (begin > end) throw bad(file, desc + ": " + offs + " have begin > end");
        if (end > bufferLen) throw bad(file, desc + ": " + offs + " end beyond the " + bufferLen + "-byte data buffer");
        long expected = numel * dtype.bytes; // numel < 2^31, bytes <= 8: no overflow
        if (end - begin != expected) {
            throw bad(file, desc + ": " + offs + " span " + (end - begin) + " bytes but " + numel + " elements need " + expected);
        }
        return new Entry(key, dtype, shape, (int) numel, begin, end);
    }

    /** A JSON number that is a non-negative integer <= max: refuses -1, 3.5, 1e30, "7", true, null... */
    private static long nonNegativeInt(Path file, String at, String what, Object e, long max)
            throws WeightsFormatException {
        String prefix = at + ": " + what + " = " + brief(e);
        if (!(e instanceof JsonNumber num)) throw bad(file, prefix + " is not a number");
        String text = num.text();
        // A u64 has at most 20 digits; bounding the length keeps BigDecimal parsing cheap.
        if (text.length() > 64) throw bad(file, prefix + " is too long for an integer");
        try {
            BigDecimal b = new BigDecimal(text); // NumberFormatException for an exponent beyond int range
            if (b.signum() < 0) throw bad(file, prefix + " is negative");
            // compareTo looks at the exponent first, so 1e999999999 costs nothing
            if (b.compareTo(BigDecimal.valueOf(max)) > 0) throw bad(file, prefix + " exceeds " + max);
            return b.longValueExact(); // ArithmeticException for a fraction
        } catch (NumberFormatException | ArithmeticException ex) {
            throw bad(file, prefix + " is not an integer", ex);
        }
    }

    private static Tensor readTensor(FileChannel ch, long dataStart, Entry e, ByteBuffer chunk, Path file)
            throws IOException {
        float[] out;
        try { // the header was validated against the file size, so this is a real tensor that may not fit
            out = new float[e.numel];
        } catch (OutOfMemoryError oom) {
            throw bad(file, e.describe() + ": not enough memory for " + e.numel + " floats", oom);
        }
        long pos = dataStart + e.begin, remaining = e.end - e.begin;
        int done = 0;
        while (remaining > 0) {
            int n = (int) Math.min(chunk.capacity(), remaining);
            chunk.clear().limit(n);
            readFully(ch, chunk, pos, file);
            chunk.flip();
            decode(e.dtype, chunk, out, done, n / e.dtype.bytes);
            done += n / e.dtype.bytes;
            pos += n;
            remaining -= n;
        }
        return Tensor.of(out, e.shape);
    }

    private static void decode(DType t, ByteBuffer b, float[] out, int off, int n) {
        switch (t) {
            case F32 -> b.asFloatBuffer().get(out, off, n); // the view inherits little-endian order
            case F64 -> { for (int i = 0; i < n; i++) out[off + i] = (float) b.getDouble(); }
            // IEEE binary16 incl. subnormals, inf and NaN (JDK 20+)
            case F16 -> { for (int i = 0; i < n; i++) out[off + i] = Float.float16ToFloat(b.getShort()); }
            // bfloat16 is the upper half of a float32, so widening is exact for every value
            case BF16 -> { for (int i = 0; i < n; i++) out[off + i] = Float.intBitsToFloat((b.getShort() & 0xFFFF) << 16); }
            case I64 -> { for (int i = 0; i < n; i++) out[off + i] = b.getLong(); }
            case I32 -> { for (int i = 0; i < n; i++) out[off + i] = b.getInt(); }
            case I16 -> { for (int i = 0; i < n; i++) out[off + i] = b.getShort(); }
            case I8 -> { for (int i = 0; i < n; i++) out[off + i] = b.get(); }
            case U8 -> { for (int i = 0; i < n; i++) out[off + i] = b.get() & 0xFF; }
            case BOOL -> { for (int i = 0; i < n; i++) out[off + i] = b.get() != 0 ? 1f : 0f; }
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos, Path file) throws IOException {
        while (b.hasRemaining()) {
            int r = ch.read(b, pos);
            if (r < 0) throw bad(file, "file ended at byte " + pos + " (truncated while being read?)");
            pos += r;
        }
    }

    /**
     * Writes {@code tensors} as F32 in map iteration order, with {@code metadata} (may be null) as
     * "__metadata__". The file is replaced atomically: data goes to a temp file in the same
     * directory, is fsynced, then renamed over {@code file}, so a crash leaves either the old file or
     * the complete new one, never a torn one.
     *
     * @throws IllegalArgumentException for an empty or reserved key, a null or meta tensor
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        Objects.requireNonNull(file, "file");
        List<Map.Entry<String, Tensor>> list = new ArrayList<>(); // one snapshot for header and data
        for (Map.Entry<String, Tensor> kv : Objects.requireNonNull(tensors, "tensors").entrySet()) {
            list.add(new AbstractMap.SimpleImmutableEntry<>(kv));
        }
        LinkedHashMap<String, Object> header = new LinkedHashMap<>();
        if (metadata != null && !metadata.isEmpty()) { // the reference writer puts it first
            LinkedHashMap<String, Object> m = new LinkedHashMap<>();
            metadata.forEach((k, v) -> m.put(Objects.requireNonNull(k, "metadata key"),
                    Objects.requireNonNull(v, () -> "metadata value of " + quote(k))));
            header.put(METADATA_KEY, m);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> kv : list) {
            String key = kv.getKey();
            Tensor t = kv.getValue();
            if (key == null || key.isEmpty()) throw new IllegalArgumentException("empty tensor key");
            if (key.equals(METADATA_KEY)) throw new IllegalArgumentException(METADATA_KEY + " is reserved");
            if (t == null) throw new IllegalArgumentException("tensor " + quote(key) + " is null");
            if (t.isMeta()) throw new IllegalArgumentException("tensor " + quote(key) + " is a meta tensor without data");
            LinkedHashMap<String, Object> e = new LinkedHashMap<>();
            e.put("dtype", "F32");
            e.put("shape", t.shape());
            e.put("data_offsets", List.of(offset, offset += 4L * t.size()));
            header.put(key, e);
        }
        byte[] json = Json.write(header).getBytes(UTF_8);
        if (json.length > MAX_HEADER_BYTES - 8) throw new IllegalArgumentException("header of " + json.length + " bytes is too large");
        int padded = (json.length + 7) & ~7; // spaces up to a multiple of 8 keep the data aligned, as the reference does

        AtomicFile.write(file, ch -> {
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded).put(json);
            while (head.hasRemaining()) head.put((byte) ' ');
            writeFully(ch, head.flip());
            ByteBuffer chunk = ByteBuffer.allocate(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
            for (Map.Entry<String, Tensor> kv : list) {
                float[] d = kv.getValue().data();
                for (int i = 0, size = kv.getValue().size(); i < size; ) {
                    int n = Math.min(CHUNK / 4, size - i);
                    chunk.clear();
                    chunk.asFloatBuffer().put(d, i, n);
                    writeFully(ch, chunk.limit(4 * n));
                    i += n;
                }
            }
        });
    }


    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    private static WeightsFormatException bad(Path file, String msg) { return bad(file, msg, null); }

    private static WeightsFormatException bad(Path file, String msg, Throwable cause) {
        return new WeightsFormatException(file + ": " + msg, cause);
    }

    /** Keys come from the file, so bound their length in messages. */
    private static String quote(String s) {
        return "'" + (s.length() > 200 ? s.substring(0, 200) + "..." : s) + "'";
    }

    /** A short description of a JSON value for messages (the value could be megabytes long). */
    private static String brief(Object e) {
        if (e instanceof Map) return "an object";
        if (e instanceof List<?> a) {
            for (Object x : a) if (x instanceof List || x instanceof Map) return "a nested array";
            if (a.size() > 16) return "an array of " + a.size() + " elements";
        }
        if (e instanceof String str) return "string " + quote(str);
        String s = e instanceof List ? Json.write(e) : String.valueOf(e);
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
