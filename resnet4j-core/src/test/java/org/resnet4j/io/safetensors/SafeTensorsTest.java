package org.resnet4j.io.safetensors;

import org.resnet4j.io.WeightsFormatException;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeout;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.io.json.Json;
import org.resnet4j.tensor.Tensor;

class SafeTensorsTest {
    @TempDir
    Path dir;

    private int counter;

    // ---- helpers -------------------------------------------------------------------------------

    /** A safetensors file: u64 LE header length, the header bytes, the data bytes. */
    static byte[] file(String header, byte[] data) {
        return file(header.getBytes(UTF_8), data);
    }

    static byte[] file(byte[] header, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        return b.putLong(header.length).put(header).put(data).array();
    }

    static byte[] le(int bytesPerValue, long... values) {
        ByteBuffer b = ByteBuffer.allocate(bytesPerValue * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            switch (bytesPerValue) {
                case 1 -> b.put((byte) v);
                case 2 -> b.putShort((short) v);
                case 4 -> b.putInt((int) v);
                default -> b.putLong(v);
            }
        }
        return b.array();
    }

    static String entry(String key, String dtype, String shape, long begin, long end) {
        return "\"" + key + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + "," + end + "]}";
    }

    private Path put(byte[] bytes) throws IOException {
        Path p = dir.resolve("case" + (counter++) + ".safetensors");
        Files.write(p, bytes);
        return p;
    }

    /** Reads {@code bytes} and expects a WeightsFormatException naming the file and each fragment. */
    private WeightsFormatException assertBad(byte[] bytes, String... fragments) throws IOException {
        Path p = put(bytes);
        WeightsFormatException e = assertThrows(WeightsFormatException.class, () -> SafeTensors.read(p));
        assertTrue(e.getMessage().contains(p.getFileName().toString()), () -> "no file name in: " + e.getMessage());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), () -> "'" + f + "' not in: " + e.getMessage());
        }
        return e;
    }

    private WeightsFormatException assertBadHeader(String header, byte[] data, String... fragments) throws IOException {
        return assertBad(file(header, data), fragments);
    }

    // ---- round trip -----------------------------------------------------------------------------

    @Test
    void roundTripKeepsValuesShapesOrderAndMetadata() throws IOException {
        LinkedHashMap<String, Tensor> in = new LinkedHashMap<>();
        in.put("z.conv.weight", Tensor.randn(1, 4, 3, 3, 3));
        in.put("a.bias", Tensor.of(new float[] {1f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.MIN_VALUE}, 5));
        in.put("scalar", Tensor.scalar(3.25f));
        in.put("empty", Tensor.zeros(0));
        in.put("empty2d", Tensor.zeros(3, 0));
        in.put("m.ünïcödé<&>", Tensor.uniform(2, -1, 1, 2, 5));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("note", "quotes \" and \\ and ünï");
        Path p = dir.resolve("model.safetensors");
        SafeTensors.write(p, in, meta);

        SafeTensors.Contents c = SafeTensors.read(p);
        assertEquals(List.copyOf(in.keySet()), List.copyOf(c.tensors().keySet()));
        for (var kv : in.entrySet()) {
            Tensor got = c.tensors().get(kv.getKey());
            assertArrayEquals(kv.getValue().shape(), got.shape(), kv.getKey());
            for (int i = 0; i < got.size(); i++) {
                assertEquals(Float.floatToRawIntBits(kv.getValue().data()[i]), Float.floatToRawIntBits(got.data()[i]), kv.getKey());
            }
        }
        assertEquals(0, c.tensors().get("scalar").rank());
        assertEquals(3.25f, c.tensors().get("scalar").data()[0]);
        assertEquals(0, c.tensors().get("empty").size());
        assertEquals(meta, c.metadata());

        // Layout: header padded with spaces to a multiple of 8; tensors laid out in map order.
        byte[] bytes = Files.readAllBytes(p);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8);
        String header = new String(bytes, 8, (int) n, UTF_8);
        Map<String, Object> h = Json.parseObject(header);
        assertEquals("[0,432]", Json.write(((Map<?, ?>) h.get("z.conv.weight")).get("data_offsets")));
        assertEquals("[432,452]", Json.write(((Map<?, ?>) h.get("a.bias")).get("data_offsets")));
        assertEquals("F32", ((Map<?, ?>) h.get("scalar")).get("dtype"));
        assertEquals("[]", Json.write(((Map<?, ?>) h.get("scalar")).get("shape")));
        assertEquals(8 + n + 4 * (108 + 5 + 1 + 10), bytes.length);
        assertTrue(header.stripTrailing().endsWith("}"));
    }

    @Test
    void tensorsLargerThanOneIoChunkRoundTrip() throws IOException {
        // 1 MiB read/write chunks: these span several, ending in a partial chunk.
        Tensor big = Tensor.randn(9, 3, 100_003);
        Path p = dir.resolve("big.safetensors");
        SafeTensors.write(p, Map.of("big", big), null);
        assertArrayEquals(big.data(), SafeTensors.read(p).tensors().get("big").data());

        int n = 1_000_003; // F16 elements: 2 MB
        ByteBuffer h = ByteBuffer.allocate(2 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) h.putShort(Float.floatToFloat16(i % 2048));
        float[] v = SafeTensors.read(put(file("{" + entry("h", "F16", "[" + n + "]", 0, 2L * n) + "}", h.array())))
                .tensors().get("h").data();
        for (int i = 0; i < n; i++) assertEquals(i % 2048, v[i], "element " + i);
    }

    @Test
    void noMetadataReadsAsEmptyMap() throws IOException {
        Path p = dir.resolve("plain.safetensors");
        SafeTensors.write(p, Map.of("w", Tensor.full(2f, 2, 2)), null);
        SafeTensors.Contents c = SafeTensors.read(p);
        assertTrue(c.metadata().isEmpty());
        assertArrayEquals(new float[] {2, 2, 2, 2}, c.tensors().get("w").data());
        assertFalse(new String(Files.readAllBytes(p), UTF_8).contains("__metadata__"));
    }

    @Test
    void writeIsAtomicOverwritesAndLeavesNoTempFiles() throws IOException {
        Path p = dir.resolve("ckpt.safetensors");
        SafeTensors.write(p, Map.of("w", Tensor.full(1f, 3)), Map.of());
        SafeTensors.write(p, Map.of("v", Tensor.full(7f, 2)), Map.of("step", "2"));
        SafeTensors.Contents c = SafeTensors.read(p);
        assertEquals(List.of("v"), List.copyOf(c.tensors().keySet()));
        assertArrayEquals(new float[] {7, 7}, c.tensors().get("v").data());
        assertEquals(Map.of("step", "2"), c.metadata());

        // Refused writes change nothing and leave nothing behind.
        byte[] before = Files.readAllBytes(p);
        Map<String, Tensor> withMeta = new LinkedHashMap<>();
        withMeta.put("ok", Tensor.zeros(2));
        withMeta.put("shapeOnly", Tensor.meta(2, 3));
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(p, withMeta, null));
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(p, Map.of("", Tensor.zeros(1)), null));
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(p, Map.of("__metadata__", Tensor.zeros(1)), null));
        assertArrayEquals(before, Files.readAllBytes(p));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(p), files.toList());
        }
    }

    // ---- other dtypes, from hand-built bytes -----------------------------------------------------

    @Test
    void readsF16IncludingSubnormalAndInfinity() throws IOException {
        // 1.0, -2.5, 65504 (max), 2^-24 (smallest subnormal), +inf, -0, NaN
        byte[] data = le(2, 0x3C00, 0xC100, 0x7BFF, 0x0001, 0x7C00, 0x8000, 0x7E00);
        Path p = put(file("{" + entry("h", "F16", "[7]", 0, 14) + "}", data));
        float[] v = SafeTensors.read(p).tensors().get("h").data();
        assertEquals(1.0f, v[0]);
        assertEquals(-2.5f, v[1]);
        assertEquals(65504f, v[2]);
        assertEquals(0x1p-24f, v[3]);
        assertEquals(Float.POSITIVE_INFINITY, v[4]);
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(v[5]));
        assertTrue(Float.isNaN(v[6]));
    }

    @Test
    void readsBF16F64AndIntegerTypes() throws IOException {
        // BF16: 1.0, -2.0, 3.140625, smallest bf16 subnormal 2^-133, -inf, NaN
        byte[] bf16 = le(2, 0x3F80, 0xC000, 0x4049, 0x0001, 0xFF80, 0x7FC0);
        byte[] f64 = le(8, Double.doubleToLongBits(0.1), Double.doubleToLongBits(-1e300), Double.doubleToLongBits(1.5));
        byte[] i64 = le(8, -5, 1L << 40, Long.MIN_VALUE);
        byte[] i32 = le(4, -7, Integer.MAX_VALUE);
        byte[] i16 = le(2, -300, 32767);
        byte[] i8 = le(1, -128, 127);
        byte[] u8 = le(1, 255, 0);
        byte[] bool = le(1, 1, 0, 1);
        byte[][] parts = {bf16, f64, i64, i32, i16, i8, u8, bool};
        String[] names = {"bf", "d", "l", "i", "s", "b", "u", "t"};
        String[] dtypes = {"BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"};
        String[] shapes = {"[2,3]", "[3]", "[3,1]", "[2]", "[2]", "[2]", "[1,2]", "[3]"};
        StringBuilder h = new StringBuilder("{\"__metadata__\":{\"format\":\"np\"}");
        java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < parts.length; i++) {
            h.append(',').append(entry(names[i], dtypes[i], shapes[i], data.size(), data.size() + parts[i].length));
            data.write(parts[i]);
        }
        h.append("}   "); // trailing-space padding is legal
        SafeTensors.Contents c = SafeTensors.read(put(file(h.toString(), data.toByteArray())));
        assertEquals(List.of(names), List.copyOf(c.tensors().keySet()));
        assertEquals(Map.of("format", "np"), c.metadata());
        float[] bf = c.tensors().get("bf").data();
        assertArrayEquals(new int[] {2, 3}, c.tensors().get("bf").shape());
        assertArrayEquals(new float[] {1f, -2f, 3.140625f, 0x1p-133f, Float.NEGATIVE_INFINITY}, Arrays.copyOf(bf, 5));
        assertTrue(Float.isNaN(bf[5]));
        assertArrayEquals(new float[] {0.1f, Float.NEGATIVE_INFINITY, 1.5f}, c.tensors().get("d").data());
        assertArrayEquals(new float[] {-5f, 0x1p40f, -0x1p63f}, c.tensors().get("l").data());
        assertArrayEquals(new float[] {-7f, 2147483647f}, c.tensors().get("i").data());
        assertArrayEquals(new float[] {-300f, 32767f}, c.tensors().get("s").data());
        assertArrayEquals(new float[] {-128f, 127f}, c.tensors().get("b").data());
        assertArrayEquals(new float[] {255f, 0f}, c.tensors().get("u").data());
        assertArrayEquals(new float[] {1f, 0f, 1f}, c.tensors().get("t").data());
    }

    @Test
    void keepsHeaderOrderNotOffsetOrder() throws IOException {
        byte[] data = le(4, Float.floatToIntBits(1f), Float.floatToIntBits(2f));
        Path p = put(file("{" + entry("second", "F32", "[1]", 4, 8) + "," + entry("first", "F32", "[1]", 0, 4) + "}", data));
        SafeTensors.Contents c = SafeTensors.read(p);
        assertEquals(List.of("second", "first"), List.copyOf(c.tensors().keySet()));
        assertEquals(2f, c.tensors().get("second").data()[0]);
    }

    // ---- malformed files -------------------------------------------------------------------------

    private static final byte[] D16 = new byte[16];

    @Test
    void refusesBadFramingAndHeaderLength() throws IOException {
        assertBad(new byte[5], "shorter than");
        assertBad(new byte[0], "shorter than");
        assertBad(le(8, 100), "header length 100");
        byte[] neg = file("{}", new byte[0]);
        ByteBuffer.wrap(neg).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -1L); // 2^64 - 1 as u64
        assertBad(neg, "18446744073709551615");
        // A 200 MB sparse file declaring a 150 MB header: refused before allocating it.
        Path big = dir.resolve("huge.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.write(le(8, 150_000_000L));
            f.setLength(200_000_000L);
        }
        WeightsFormatException e = assertThrows(WeightsFormatException.class, () -> SafeTensors.read(big));
        assertTrue(e.getMessage().contains("huge.safetensors") && e.getMessage().contains("100000000"), e.getMessage());
    }

    @Test
    void refusesUnreadableFiles() {
        Path missing = dir.resolve("missing.safetensors");
        WeightsFormatException e = assertThrows(WeightsFormatException.class, () -> SafeTensors.read(missing));
        assertTrue(e.getMessage().contains("missing.safetensors"), e.getMessage());
        WeightsFormatException d = assertThrows(WeightsFormatException.class, () -> SafeTensors.read(dir));
        assertTrue(d.getMessage().contains(dir.toString()), d.getMessage());
    }

    @Test
    void refusesInvalidJson() throws IOException {
        assertBadHeader("", D16, "not valid JSON");
        assertBadHeader("{\"a\":", D16, "not valid JSON");
        assertBadHeader("[1,2]", D16, "not a JSON object");
        assertBadHeader("\"str\"", D16, "not a JSON object");
        assertBadHeader("{} x", D16);
        assertBadHeader("{}{}", D16);
        assertBadHeader("{a:1}", D16, "not valid JSON");
        assertBadHeader("{'a':{}}", D16, "not valid JSON");
        assertBadHeader("{\"w\":{\"dtype\":'F32',\"shape\":[1],\"data_offsets\":[0,4]}}", D16, "not valid JSON");
        assertBadHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[NaN,4]}}", D16, "not valid JSON");
        assertBadHeader("{/*c*/}", D16, "not valid JSON");
        assertBad(file(new byte[] {'{', '"', (byte) 0xC3, '"', ':', '1', '}'}, D16), "UTF-8");
        assertBadHeader("{\"s\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}", D16, "not valid JSON");
    }

    @Test
    void refusesBadEntries() throws IOException {
        assertBadHeader("{\"w\":[1]}", D16, "'w'", "not a JSON object");
        assertBadHeader("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", D16, "'w'", "dtype");
        assertBadHeader("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", D16, "'w'", "shape");
        assertBadHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", D16, "'w'", "data_offsets");
        assertBadHeader("{\"w\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", D16, "'w'", "dtype");
        assertBadHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,4]}}", D16, "'w'", "shape");
        assertBadHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", D16, "'w'", "not a number");
        assertBadHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[null],\"data_offsets\":[0,4]}}", D16, "'w'", "not a number");
        assertBadHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[[1]],\"data_offsets\":[0,4]}}", D16, "'w'", "not a number");
        assertBadHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{}}}", D16, "'w'", "data_offsets");
        assertBadHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", D16, "'w'", "data_offsets");
        assertBadHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\"0\",4]}}", D16, "'w'", "not a number");
        assertBadHeader("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}}", D16,
                "$.w", "duplicate key 'dtype'");
    }

    @Test
    void refusesUnknownDtypes() throws IOException {
        assertBadHeader("{" + entry("w", "F8_E4M3", "[1]", 0, 1) + "}", D16, "'w'", "F8_E4M3", "unsupported dtype");
        assertBadHeader("{" + entry("w", "f32", "[1]", 0, 4) + "}", D16, "'w'", "f32");
        assertBadHeader("{" + entry("w", "", "[1]", 0, 4) + "}", D16, "'w'", "unsupported dtype");
    }

    @Test
    void refusesBadShapes() throws IOException {
        assertBadHeader("{" + entry("w", "F32", "[-1]", 0, 4) + "}", D16, "'w'", "shape[0]", "negative");
        assertBadHeader("{" + entry("w", "F32", "[2,3.5]", 0, 4) + "}", D16, "'w'", "shape[1]", "3.5", "not an integer");
        assertBadHeader("{" + entry("w", "F32", "[1e30]", 0, 4) + "}", D16, "'w'", "shape[0]", "1e30", "exceeds");
        assertBadHeader("{" + entry("w", "F32", "[2147483648]", 0, 4) + "}", D16, "'w'", "exceeds");
        assertBadHeader("{" + entry("w", "F32", "[1e99999999999]", 0, 4) + "}", D16, "'w'", "shape[0]");
        assertBadHeader("{" + entry("w", "F32", "[1" + "0".repeat(200) + "]", 0, 4) + "}", D16, "'w'", "shape[0]", "too long");
        assertBadHeader("{" + entry("w", "F32", "[1" + "0".repeat(60) + "]", 0, 4) + "}", D16, "'w'", "shape[0]");
        assertBadHeader("{" + entry("w", "F32", "[65536,65536,65536]", 0, 4) + "}", D16, "'w'", "more than");
        assertBadHeader("{" + entry("w", "I8", "[2147483647]", 0, 2147483647L) + "}", D16, "'w'", "more than");
        // A huge but representable tensor whose bytes are not in the file: refused before allocating.
        assertBadHeader("{" + entry("w", "F64", "[268435455]", 0, 2147483640L) + "}", D16, "'w'", "F64", "beyond");
    }

    @Test
    void refusesBadOffsets() throws IOException {
        assertBadHeader("{" + entry("w", "F32", "[1]", -1, 3) + "}", D16, "'w'", "data_offsets[0]", "negative");
        assertBadHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0.5,4]}}", D16, "'w'", "not an integer");
        assertBadHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1e30]}}", D16, "'w'", "exceeds");
        assertBadHeader("{" + entry("w", "F32", "[1]", 8, 4) + "}", D16, "'w'", "[8, 4]", "begin > end");
        assertBadHeader("{" + entry("w", "F32", "[2]", 12, 20) + "}", D16, "'w'", "[12, 20]", "beyond the 16-byte");
        assertBadHeader("{" + entry("w", "F32", "[3]", 0, 8) + "}", D16, "'w'", "[3]", "span 8 bytes", "need 12");
        assertBadHeader("{" + entry("w", "F16", "[2]", 0, 8) + "}", D16, "'w'", "F16", "need 4");
        assertBadHeader("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}", D16,
                "'a'", "'b'", "overlap");
        assertBadHeader("{" + entry("a", "F32", "[4]", 0, 16) + "," + entry("b", "F32", "[1]", 8, 12) + "}", D16,
                "'a'", "'b'", "overlap");
        // Empty ranges own no bytes, so they overlap nothing.
        SafeTensors.Contents c = SafeTensors.read(put(file(
                "{" + entry("a", "F32", "[4]", 0, 16) + "," + entry("e", "F32", "[0]", 8, 8) + "}", D16)));
        assertEquals(0, c.tensors().get("e").size());
    }

    @Test
    void refusesDuplicateKeys() throws IOException {
        assertBadHeader("{" + entry("w", "F32", "[1]", 0, 4) + "," + entry("w", "F32", "[1]", 4, 8) + "}", D16,
                "duplicate key 'w'");
        assertBadHeader("{\"__metadata__\":{},\"__metadata__\":{}}", D16, "duplicate key '__metadata__'");
        assertBadHeader("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", D16, "duplicate key 'k'");
    }

    @Test
    void refusesBadMetadata() throws IOException {
        assertBadHeader("{\"__metadata__\":[\"a\"]}", D16, "__metadata__", "not a JSON object");
        assertBadHeader("{\"__metadata__\":\"x\"}", D16, "__metadata__", "not a JSON object");
        assertBadHeader("{\"__metadata__\":{\"epoch\":3}}", D16, "__metadata__", "'epoch'", "not a string");
        assertBadHeader("{\"__metadata__\":{\"n\":{\"a\":\"b\"}}}", D16, "'n'", "not a string");
        assertBadHeader("{\"__metadata__\":{\"n\":null}}", D16, "'n'", "not a string");
    }

    // ---- fuzz ------------------------------------------------------------------------------------

    private static final String[] JSON_BITS = {
        "{", "}", "[", "]", ",", ":", "\"", "\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"",
        "\"F16\"", "\"BF16\"", "\"I64\"", "\"BOOL\"", "\"XX\"", "-1", "0", "3.5", "1e30", "1e999999999",
        "9223372036854775807", "18446744073709551616", "2147483647", "null", "true", "[]", "{}", "\"w\"", " ",
        "\\u0000", "\\", "\u00e9", "[[[[[[", "]]]]]]", "NaN", "Infinity", "//", "/*"
    };

    @Test
    void fuzzedFilesEitherReadOrThrowWeightsFormatException() throws IOException {
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("conv.weight", Tensor.randn(3, 2, 3, 3));
        in.put("bn.bias", Tensor.randn(4, 2));
        in.put("scalar", Tensor.scalar(1f));
        in.put("empty", Tensor.zeros(0, 4));
        Path src = dir.resolve("valid.safetensors");
        SafeTensors.write(src, in, Map.of("format", "pt"));
        byte[] valid = Files.readAllBytes(src);
        int headerEnd = 8 + (int) ByteBuffer.wrap(valid, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        Path p = dir.resolve("fuzz.safetensors");

        int[] outcomes = new int[2];
        assertTimeout(Duration.ofSeconds(10), () -> {
            SplittableRandom r = new SplittableRandom(20240611L);
            for (int iter = 0; iter < 3000; iter++) {
                byte[] b = valid.clone();
                int rounds = r.nextInt(4) == 0 ? 2 : 1;
                for (int k = 0; k < rounds; k++) b = mutate(b, headerEnd, r);
                Files.write(p, b);
                try {
                    SafeTensors.read(p);
                    outcomes[0]++;
                } catch (WeightsFormatException e) {
                    assertTrue(e.getMessage().contains("fuzz.safetensors"), e.getMessage());
                    outcomes[1]++;
                } catch (Throwable t) {
                    fail("iteration " + iter + ": " + t + "\nheader: "
                            + new String(b, 8, Math.max(0, Math.min(b.length - 8, 400)), UTF_8), t);
                }
            }
        });
        // Both outcomes must occur, or the mutations are not exercising the reader.
        assertTrue(outcomes[0] > 100 && outcomes[1] > 1000, Arrays.toString(outcomes));
    }

    private static byte[] mutate(byte[] b, int headerEnd, SplittableRandom r) {
        switch (r.nextInt(8)) {
            case 0 -> { // flip a few bytes, mostly inside the header
                int flips = 1 + r.nextInt(4);
                for (int i = 0; i < flips && b.length > 0; i++) {
                    int at = r.nextInt(4) > 0 && headerEnd <= b.length && headerEnd > 8 ? 8 + r.nextInt(headerEnd - 8) : r.nextInt(b.length);
                    b[at] ^= (byte) (1 << r.nextInt(8));
                }
                return b;
            }
            case 1 -> { // truncate
                return Arrays.copyOf(b, r.nextInt(b.length + 1));
            }
            case 2 -> { // overwrite the header length: random, or off by a little
                if (b.length < 8) return b;
                ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
                long v = switch (r.nextInt(3)) {
                    case 0 -> r.nextLong();
                    case 1 -> r.nextLong(b.length);
                    default -> bb.getLong(0) + r.nextInt(-16, 17);
                };
                bb.putLong(0, v);
                return b;
            }
            case 6, 7 -> { // change one number or dtype in an intact header: passes the syntax, tests the semantics
                if (b.length < 8) return b;
                long n = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
                if (n < 2 || n > b.length - 8) return b;
                String h = new String(b, 8, (int) n, UTF_8);
                java.util.regex.Matcher m = java.util.regex.Pattern.compile(r.nextBoolean() ? "\\d+" : "F32").matcher(h);
                List<int[]> spans = new java.util.ArrayList<>();
                while (m.find()) spans.add(new int[] {m.start(), m.end()});
                if (spans.isEmpty()) return b;
                int[] sp = spans.get(r.nextInt(spans.size()));
                String[] subs = {"0", "1", "2", "3", "4", "8", "16", "-1", "3.5", "1e30", "4.0", "2147483647",
                    "4294967296", "9223372036854775807", String.valueOf(r.nextInt(600)), "F16", "BF16", "F64", "I8",
                    "BOOL", "U8", "I64", "X"};
                String sub = subs[r.nextInt(subs.length)];
                if (Character.isDigit(sub.charAt(0)) != Character.isDigit(h.charAt(sp[0])) && r.nextBoolean()) return b;
                byte[] head = (h.substring(0, sp[0]) + sub + h.substring(sp[1])).getBytes(UTF_8);
                byte[] out = new byte[8 + head.length + b.length - 8 - (int) n];
                ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(head.length).put(head).put(b, 8 + (int) n, b.length - 8 - (int) n);
                return out;
            }
            default -> { // splice JSON text into the header (or replace a stretch), fixing up the length
                if (b.length < 8 || headerEnd > b.length) return b;
                long n = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
                if (n < 0) return b;
                int len = (int) Math.min(n, b.length - 8L);
                int at = 8 + r.nextInt(len + 1);
                int cut = r.nextInt(3) == 0 ? 0 : Math.min(r.nextInt(1, 12), 8 + len - at);
                StringBuilder s = new StringBuilder();
                for (int i = 1 + r.nextInt(3); i > 0; i--) s.append(JSON_BITS[r.nextInt(JSON_BITS.length)]);
                byte[] ins = s.toString().getBytes(UTF_8);
                byte[] out = new byte[b.length - cut + ins.length];
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(ins, 0, out, at, ins.length);
                System.arraycopy(b, at + cut, out, at + ins.length, b.length - at - cut);
                if (r.nextInt(4) > 0) ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(0, len - cut + ins.length);
                return out;
            }
        }
    }
}
