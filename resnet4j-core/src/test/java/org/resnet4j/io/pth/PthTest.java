package org.resnet4j.io.pth;

import org.resnet4j.io.WeightsFormatException;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.CRC32;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;

/**
 * {@link Pth} against files written by PyTorch 1.13's torch.save (tools/make_pth_fixtures.py)
 * and against hostile or damaged files, which must all end in a {@link WeightsFormatException}
 * naming the file, without side effects.
 */
class PthTest {
    private static final Path DIR = Path.of("src/test/resources/pth");
    /** What the hostile fixtures would `touch` if their pickles were ever run. */
    private static final Path FIXTURE_MARKER = Path.of("/tmp/resnet4j_pth_evil_marker");

    @TempDir
    Path tmp;

    // ------------------------------------------------------------------------------------ valid files
    @Test
    void resnet8LoadsWithTorchKeysAndMatchesPyTorchOutput() throws Exception {
        LinkedHashMap<String, Tensor> sd = Pth.read(gunzip("resnet8.pth.gz"));
        assertEquals(resnet8Keys(), new ArrayList<>(sd.keySet()));
        assertEquals(0, sd.get("bn1.num_batches_tracked").rank());
        float nbt = sd.get("bn1.num_batches_tracked").data()[0];
        assertTrue(nbt >= 1 && nbt == Math.rint(nbt), "num_batches_tracked arrives as an integral float: " + nbt);

        Module net = Models.create("resnet8", ModelConfig.defaults(10));
        net.loadStateDict(sd, true);
        net.eval();
        Map<String, Tensor> io = SafeTensors.read(DIR.resolve("resnet8_io.safetensors")).tensors();
        Tensor out;
        try (GradMode.Guard g = GradMode.noGrad()) {
            out = net.call(Variable.leaf(io.get("input"))).value();
        }
        Tensor want = io.get("output");
        assertTrue(want.sameShape(out), out.shapeString());
        double err = Tensor.maxAbsDiff(want, out) / want.maxAbs();
        System.out.printf("resnet8 from .pth: relative error %.2e vs PyTorch's output%n", err);
        assertTrue(err <= 1e-5, "relative error vs PyTorch " + err);
    }

    @Test
    void legacyFormatGivesIdenticalTensors() throws Exception {
        assertSameTensors(Pth.read(gunzip("resnet8.pth.gz")), Pth.read(gunzip("resnet8_legacy.pth.gz")));
        assertSameTensors(Pth.read(DIR.resolve("dtypes.pth")), Pth.read(DIR.resolve("dtypes_legacy.pth")));
    }

    @Test
    void bigEndianArchiveIsConverted() throws Exception {
        assertSameTensors(Pth.read(DIR.resolve("dtypes.pth")), Pth.read(DIR.resolve("dtypes_bigendian.pth")));
    }

    @Test
    void dtypesViewsAndSharedStoragesGiveExactValues() throws Exception {
        LinkedHashMap<String, Tensor> t = Pth.read(DIR.resolve("dtypes.pth"));
        assertEquals(List.of("f32", "f16", "bf16", "f64", "i64", "num_batches_tracked", "i32", "i16", "i8", "u8", "bool",
                "transposed", "slice", "expanded", "shared_a", "shared_b", "empty"), new ArrayList<>(t.keySet()));
        expect(t, "f32", new int[] {2, 3}, 1.5f, -2f, 3.25f, 0f, -0f, 1e-3f);
        expect(t, "f16", new int[] {5}, 1.5f, -2.25f, 65504f, 0x1p-24f, Float.POSITIVE_INFINITY);
        expect(t, "bf16", new int[] {3}, 1f, -3.140625f, 0x1p100f);
        expect(t, "f64", new int[] {2, 2}, (float) (1.0 / 3.0), -2.5f, (float) 1e-3, (float) 1e10);
        expect(t, "i64", new int[] {3}, -5f, 0x1p40f, 7f);
        expect(t, "num_batches_tracked", new int[] {}, 123f);
        expect(t, "i32", new int[] {2}, -0x1p31f, 5f);
        expect(t, "i16", new int[] {2}, -32768f, 123f);
        expect(t, "i8", new int[] {2}, -128f, 127f);
        expect(t, "u8", new int[] {3}, 0f, 200f, 255f);
        expect(t, "bool", new int[] {3}, 1f, 0f, 1f);
        // arange(12).reshape(3, 4).t(): element [i][j] is 4j + i
        expect(t, "transposed", new int[] {4, 3}, 0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11);
        // arange(24).reshape(4, 6)[:, 1::2]: storage offset 1, strides (6, 2)
        expect(t, "slice", new int[] {4, 3}, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23);
        expect(t, "expanded", new int[] {2, 3}, 0, 1, 2, 0, 1, 2);
        // 0.5 * arange(10) in float64, viewed at offsets 2 and 5 of the one storage
        expect(t, "shared_a", new int[] {3}, 1f, 1.5f, 2f);
        expect(t, "shared_b", new int[] {2, 2}, 2.5f, 3f, 3.5f, 4f);
        expect(t, "empty", new int[] {0, 3});
        assertFalse(t.get("shared_a").data() == t.get("shared_b").data(), "outputs are independent arrays");
    }

    @Test
    void inMemoryViewIsGatheredFromItsStorage() throws Exception {
        // a 2x2 transpose of storage [0, 1, 2, 3] and a stride-0 broadcast starting at offset 3
        Path f = torchZip("w", tensorPickle("w", 4, 0, new long[] {2, 2}, new long[] {1, 2}), floats(0, 1, 2, 3));
        expect(Pth.read(f), "w", new int[] {2, 2}, 0, 2, 1, 3);
        f = torchZip("w", tensorPickle("w", 4, 3, new long[] {2, 3}, new long[] {0, 0}), floats(0, 1, 2, 3));
        expect(Pth.read(f), "w", new int[] {2, 3}, 3, 3, 3, 3, 3, 3);
    }

    // ------------------------------------------------------------------------------------ hostile files
    @ParameterizedTest
    @CsvSource({"evil_os_system.pth, os.system", "evil_posix_system.pth, posix.system",
        "evil_builtins_eval.pth, builtins.eval"})
    void codeExecutingFixturesAreRefused(String name, String global) throws IOException {
        Files.deleteIfExists(FIXTURE_MARKER);
        Path f = DIR.resolve(name);
        WeightsFormatException e = assertThrows(WeightsFormatException.class, () -> Pth.read(f));
        assertMessage(e, f, "refused global '" + global + "'");
        assertFalse(Files.exists(FIXTURE_MARKER), "the payload ran");
    }

    @ParameterizedTest
    @CsvSource({"os, system", "posix, system", "nt, system", "subprocess, Popen", "subprocess, check_output",
        "builtins, eval", "builtins, exec", "builtins, getattr", "__builtin__, getattr", "__builtin__, eval",
        "torch, load", "torch._utils, _rebuild_qtensor", "torch.storage, FloatStorage", "numpy.core.multiarray, _reconstruct",
        "collections, defaultdict", "torch.nn.modules.conv, Conv2d", "__torch__.Model, forward"})
    void everyOtherGlobalIsRefusedWithoutSideEffects(String module, String name) throws IOException {
        Path marker = tmp.resolve("pwned");
        String cmd = "touch " + marker;
        for (boolean stackGlobal : new boolean[] {false, true}) {
            Pickle p = new Pickle().op(0x80, stackGlobal ? 4 : 2);
            if (stackGlobal) p.str(module).str(name).op(0x93);
            else p.global(module, name);
            byte[] pkl = p.str(cmd).op(0x85, 'R', '.').bytes();
            Path f = torchZip("evil", pkl, null);
            WeightsFormatException e = assertThrows(WeightsFormatException.class, () -> Pth.read(f));
            assertMessage(e, f, "refused global '" + module + "." + name + "'");
            // and the same pickle as the main object of a legacy-format file
            Path legacy = write("evil_legacy.pth", concat(legacyPreamble(), pkl));
            e = assertThrows(WeightsFormatException.class, () -> Pth.read(legacy));
            assertMessage(e, legacy, "refused global '" + module + "." + name + "'");
        }
        assertFalse(Files.exists(marker), "the payload ran");
    }

    @Test
    void absurdStorageIsRefusedBeforeAllocation() {
        Path f = DIR.resolve("huge_storage.pth");
        WeightsFormatException e = assertThrows(WeightsFormatException.class, () -> Pth.read(f));
        assertMessage(e, f, "storage '0' (torch.FloatStorage, 1099511627776 elements) needs 4398046511104 bytes but zip entry 'archive/data/0' holds 16");
    }

    @Test
    void shortStorageIsRefusedNamingItsKey() {
        Path f = DIR.resolve("short_storage.pth");
        WeightsFormatException e = assertThrows(WeightsFormatException.class, () -> Pth.read(f));
        assertMessage(e, f, "storage '0'");
        assertMessage(e, f, "storage too short");
    }

    @Test
    void truncatedFilesAreRefused() throws IOException {
        for (Path f : List.of(DIR.resolve("truncated.pth"), DIR.resolve("truncated_pickle.pth"))) {
            assertMessage(assertThrows(WeightsFormatException.class, () -> Pth.read(f)), f, "");
        }
        assertMessage(assertThrows(WeightsFormatException.class, () -> Pth.read(DIR.resolve("truncated_pickle.pth"))),
                DIR.resolve("truncated_pickle.pth"), "truncated");
        byte[] legacy = Files.readAllBytes(DIR.resolve("dtypes_legacy.pth"));
        for (int cut : new int[] {0, 1, 10, 100, legacy.length / 2, legacy.length - 300, legacy.length - 1}) {
            Path f = write("cut" + cut + ".pth", Arrays.copyOf(legacy, cut));
            assertMessage(assertThrows(WeightsFormatException.class, () -> Pth.read(f)), f, "");
        }
    }

    @Test
    void forgedDeflateSizeIsRefusedAsZipBomb() throws IOException {
        // a DEFLATE entry of 16 zero bytes whose central directory claims 1 GiB; the pickle agrees with the claim
        byte[] zip = zip(Map.of("a/data.pkl", tensorPickle("w", 1L << 28, 0, new long[] {2}, new long[] {1}),
                "a/data/0", new byte[16]), false);
        byte[] name = "a/data/0".getBytes(UTF_8);
        int cen = indexOf(zip, new byte[] {'P', 'K', 1, 2}, 0);
        while (cen >= 0 && !Arrays.equals(Arrays.copyOfRange(zip, cen + 46, cen + 46 + name.length), name)) {
            cen = indexOf(zip, new byte[] {'P', 'K', 1, 2}, cen + 4);
        }
        ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN).putInt(cen + 24, 1 << 30);
        Path f = write("bomb.pth", zip);
        assertMessage(assertThrows(WeightsFormatException.class, () -> Pth.read(f)), f, "zip bomb");
    }

    @Test
    void totalSizeIsCapped() {
        Path f = DIR.resolve("dtypes.pth");
        assertMessage(assertThrows(WeightsFormatException.class, () -> Pth.read(f, 100)), f, "over the limit of 100 bytes");
    }

    /** Malformed pickles: (what the message must say, pickle bytes after PROTO 2). */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "stack underflow | 52 2e",                     // REDUCE on an empty stack
        "bad memo index 7 | 68 07 2e",                 // BINGET of a slot never stored
        "opcode 0xff | ff 2e",
        "INST (instantiates a class) | 69 6f 73 0a 73 79 73 74 65 6d 0a 2e",
        "OBJ (instantiates a class) | 28 6f 2e",
        "without a STOP | 7d",
        "unsupported pickle protocol 6 | 80 06 7d 2e",
        "exceeds the 5 bytes left | 58 ff ff ff 7f 61 62 63 64 65",  // BINUNICODE of 2^31-1 bytes
        "exceeds the 0 bytes left | 8d ff ff ff ff ff ff ff 00",      // BINUNICODE8 of 2^56 bytes
        "ends inside an opcode operand | 4a 01 02",
        "integer of 1000 bytes is longer than the limit | 8b e8 03 00 00",  // LONG4
        "no MARK | 74 2e",
        "unhashable dict key | 7d 5d 4b 01 73 2e",
        "not a state_dict | 5d 2e",
        "is a list of 1, not a tensor | 5d 71 00 68 00 61 7d 8c 01 78 68 00 73 2e",  // l.append(l); {'x': l}
        "refused BUILD | 7d 7d 62 2e",                 // BUILD on a plain dict
        "refused REDUCE | 63 74 6f 72 63 68 0a 46 6c 6f 61 74 53 74 6f 72 61 67 65 0a 29 52 2e",
        "not valid UTF-8 | 58 02 00 00 00 c3 28 2e",
        "state_dict key int 1 is not a string | 7d 4b 01 4b 02 73 2e",
        "unexpected persistent id | 7d 51 2e"})
    void malformedPicklesAreRefused(String message, String hex) throws IOException {
        byte[] body = hex(hex);
        byte[] pkl = body.length > 1 && (body[0] & 0xFF) == 0x80 ? body : concat(new byte[] {(byte) 0x80, 2}, body);
        Path f = torchZip("bad", pkl, null);
        WeightsFormatException e = assertThrows(WeightsFormatException.class, () -> Pth.read(f));
        if (message.equals("unexpected persistent id")) message = "persistent id"; // BINPERSID of a dict
        assertMessage(e, f, message);
    }

    @Test
    void deepNestingIsRefused() throws IOException {
        Path marks = torchZip("m", concat(new byte[] {(byte) 0x80, 2}, repeat((byte) '(', 500)), null);
        assertMessage(assertThrows(WeightsFormatException.class, () -> Pth.read(marks)), marks, "nested MARKs");
        byte[] tuples = concat(new byte[] {(byte) 0x80, 2, 'K', 1}, repeat((byte) 0x85, 100_000));
        Path t = torchZip("t", tuples, null);
        assertMessage(assertThrows(WeightsFormatException.class, () -> Pth.read(t)), t, "tuples nested more than");
    }

    /** Views that do not fit their storage, and other bad rebuild arguments. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "4 | 1 | 4 | 1 | reaches element 4 of storage '0'",
        "4 | 0 | 2,2 | 2,2 | reaches element 4",
        "4 | 0 | 4 | -1 | negative strides are refused",
        "4 | 0 | -1 | 1 | dimension 0 is not an int",
        "4 | -1 | 1 | 1 | storage_offset is int -1",
        "4 | 0 | 3 | 4611686018427387904 | beyond 2^63",
        "4 | 0 | 1048576,1048576,1048576 | 0,0,0 | more than 2147483631 elements",
        "4 | 0 | 2147483647,2,0 | 0,0,0 | more than 2147483631 elements",  // empty, but beyond Tensor's limits
        "4 | 0 | 2147483648 | 1 | dimension 0 is not an int",
        "5 | 0 | 4 | 1 | needs 20 bytes but zip entry 'x/data/0' holds 16",
        "-3 | 0 | 4 | 1 | declares int -3 elements"})
    void badViewsAreRefused(long numel, long offset, String size, String stride, String message) throws IOException {
        Path f = torchZip("x", tensorPickle("w", numel, offset, longs(size), longs(stride)), floats(0, 1, 2, 3));
        assertMessage(assertThrows(WeightsFormatException.class, () -> Pth.read(f)), f, message);
    }

    @Test
    void storageEntryMustExist() throws IOException {
        Path f = torchZip("x", tensorPickle("w", 4, 0, new long[] {4}, new long[] {1}), null);
        assertMessage(assertThrows(WeightsFormatException.class, () -> Pth.read(f)), f, "has no entry 'x/data/0'");
    }

    @Test
    void notAPyTorchFile() throws IOException {
        for (byte[] b : new byte[][] {{}, "hello".getBytes(UTF_8), {(byte) 0x80, 2, 'K', 1, '.'}, {'P', 'K', 3, 4, 0, 0}}) {
            Path f = write("junk.pth", b);
            assertMessage(assertThrows(WeightsFormatException.class, () -> Pth.read(f)), f, "");
        }
    }

    // ------------------------------------------------------------------------------------ fuzzing
    @Test
    void fuzzedFilesFailOnlyWithWeightsFormatException() {
        assertTimeoutPreemptively(Duration.ofSeconds(15), () -> {
            byte[] valid = Files.readAllBytes(DIR.resolve("dtypes.pth"));
            LinkedHashMap<String, byte[]> entries = unzip(DIR.resolve("dtypes.pth"));
            String pklName = entries.keySet().stream().filter(n -> n.endsWith("/data.pkl")).findFirst().orElseThrow();
            byte[] pkl = entries.get(pklName);
            byte[] legacy = Files.readAllBytes(DIR.resolve("dtypes_legacy.pth"));
            SplittableRandom r = new SplittableRandom(0x7e57_5eedL);
            Path f = tmp.resolve("fuzz.pth");
            int[] outcomes = new int[2];
            for (int i = 0; i < 2000; i++) fuzzOnce(f, mutate(valid, r), "zip bytes #" + i, outcomes);
            for (int i = 0; i < 2000; i++) {
                LinkedHashMap<String, byte[]> m = new LinkedHashMap<>(entries);
                m.put(pklName, mutate(pkl, r));
                fuzzOnce(f, zip(m, true), "data.pkl #" + i, outcomes);
            }
            for (int i = 0; i < 300; i++) fuzzOnce(f, mutate(legacy, r), "legacy bytes #" + i, outcomes);
            System.out.printf("pth fuzz: %d read, %d refused%n", outcomes[0], outcomes[1]);
            assertTrue(outcomes[1] > 1000, "most mutations must be caught");
        });
    }

    private static void fuzzOnce(Path f, byte[] bytes, String what, int[] outcomes) throws IOException {
        Files.write(f, bytes);
        try {
            Pth.read(f);
            outcomes[0]++;
        } catch (WeightsFormatException e) {
            if (!e.getMessage().startsWith(f.toString())) fail(what + ": message does not name the file: " + e.getMessage());
            outcomes[1]++;
        } catch (Throwable t) { // RuntimeException, OutOfMemoryError, StackOverflowError...
            throw new AssertionError(what + ": " + t, t);
        }
    }

    private static byte[] mutate(byte[] src, SplittableRandom r) {
        byte[] b = src.clone();
        for (int k = 1 + r.nextInt(4); k > 0 && b.length > 0; k--) {
            int pos = r.nextInt(b.length);
            switch (r.nextInt(8)) {
                case 0 -> b[pos] = (byte) r.nextInt(256);
                case 1 -> b[pos] ^= (byte) (1 << r.nextInt(8));
                case 2 -> b[pos] = INTERESTING[r.nextInt(INTERESTING.length)];
                case 3 -> { // delete a few bytes
                    int n = Math.min(1 + r.nextInt(8), b.length - pos);
                    b = concat(Arrays.copyOf(b, pos), Arrays.copyOfRange(b, pos + n, b.length));
                }
                case 4 -> { // insert a few random bytes
                    byte[] ins = new byte[1 + r.nextInt(8)];
                    r.nextBytes(ins);
                    b = concat(Arrays.copyOf(b, pos), ins, Arrays.copyOfRange(b, pos, b.length));
                }
                case 5 -> { // copy a chunk from elsewhere over this position
                    int from = r.nextInt(b.length), n = Math.min(1 + r.nextInt(32), Math.min(b.length - from, b.length - pos));
                    System.arraycopy(b.clone(), from, b, pos, n);
                }
                case 6 -> b = Arrays.copyOf(b, pos); // truncate
                default -> { // a large 32-bit value: lengths, sizes, memo indexes
                    int v = new int[] {0x7fffffff, 0xffffffff, 0x80000000, 0x10000, 0xff}[r.nextInt(5)];
                    for (int i = 0; i < 4 && pos + i < b.length; i++) b[pos + i] = (byte) (v >>> (8 * i));
                }
            }
        }
        return b;
    }

    /** Opcodes and boundary bytes that steer the pickle machine into its rarer paths. */
    private static final byte[] INTERESTING = hex("00 01 7f 80 ff 28 29 2e 30 31 32 4a 4b 4d 51 52 58 5d 61 62 63 65 "
            + "68 6a 71 72 73 74 75 7d 81 85 86 87 88 89 8a 8b 8c 8d 92 93 94 95");

    // ------------------------------------------------------------------------------------ helpers
    private static List<String> resnet8Keys() {
        List<String> k = new ArrayList<>();
        k.add("conv1.weight");
        bn(k, "bn1");
        for (int s = 1; s <= 3; s++) {
            String p = "layer" + s + ".0.";
            k.add(p + "conv1.weight");
            bn(k, p + "bn1");
            k.add(p + "conv2.weight");
            bn(k, p + "bn2");
        }
        k.add("fc.weight");
        k.add("fc.bias");
        return k;
    }

    private static void bn(List<String> k, String p) {
        for (String s : new String[] {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}) k.add(p + "." + s);
    }

    private static void expect(Map<String, Tensor> t, String key, int[] shape, float... values) {
        Tensor x = t.get(key);
        assertArrayEquals(shape, x.shape(), key + " shape");
        assertArrayEquals(values, x.data(), key + " values"); // bitwise (floatToIntBits) equality
    }

    private static void assertSameTensors(Map<String, Tensor> a, Map<String, Tensor> b) {
        assertEquals(new ArrayList<>(a.keySet()), new ArrayList<>(b.keySet()));
        for (String k : a.keySet()) {
            assertArrayEquals(a.get(k).shape(), b.get(k).shape(), k);
            assertArrayEquals(a.get(k).data(), b.get(k).data(), k);
        }
    }

    private static void assertMessage(WeightsFormatException e, Path file, String part) {
        String m = e.getMessage();
        assertTrue(m.startsWith(file.toString()), "message names the file: " + m);
        assertTrue(m.contains(part), "message should contain \"" + part + "\": " + m);
    }

    private Path gunzip(String name) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(DIR.resolve(name)))) {
            return write(name.substring(0, name.length() - 3), in.readAllBytes());
        }
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path f = tmp.resolve(name);
        Files.write(f, bytes);
        return f;
    }

    /** A zip laid out as torch.save does: prefix/data.pkl, prefix/data/0 (if given), prefix/version. */
    private Path torchZip(String prefix, byte[] pkl, byte[] storage0) throws IOException {
        LinkedHashMap<String, byte[]> m = new LinkedHashMap<>();
        m.put(prefix + "/data.pkl", pkl);
        if (storage0 != null) m.put(prefix + "/data/0", storage0);
        m.put(prefix + "/version", "3\n".getBytes(UTF_8));
        return write(prefix + ".pth", zip(m, true));
    }

    private static byte[] zip(Map<String, byte[]> entries, boolean stored) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bos)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry ze = new ZipEntry(e.getKey());
                if (stored) { // torch writes STORED entries; those need sizes and CRC up front
                    CRC32 crc = new CRC32();
                    crc.update(e.getValue());
                    ze.setMethod(ZipEntry.STORED);
                    ze.setSize(e.getValue().length);
                    ze.setCompressedSize(e.getValue().length);
                    ze.setCrc(crc.getValue());
                }
                z.putNextEntry(ze);
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return bos.toByteArray();
    }

    /** ZipFile rather than ZipInputStream, which refuses torch's STORED entries with data descriptors. */
    private static LinkedHashMap<String, byte[]> unzip(Path zip) throws IOException {
        LinkedHashMap<String, byte[]> m = new LinkedHashMap<>();
        try (ZipFile z = new ZipFile(zip.toFile())) {
            for (ZipEntry e : z.stream().toList()) {
                try (InputStream in = z.getInputStream(e)) {
                    m.put(e.getName(), in.readAllBytes());
                }
            }
        }
        return m;
    }

    /** The four pickles before the main object of a legacy file: magic number, version 1001, sys_info. */
    private static byte[] legacyPreamble() {
        byte[] magic = hex("80 02 8a 0a 6c fc 9c 46 f9 20 6a a8 50 19 2e");
        return concat(magic, hex("80 02 4d e9 03 2e"), hex("80 02 7d 2e"));
    }

    /**
     * {'key': _rebuild_tensor_v2(storage '0' of numel float32 elements, offset, size, stride, False,
     * OrderedDict())}, in the opcodes torch.save uses (tools/make_pth_fixtures.py shows a disassembly).
     */
    static byte[] tensorPickle(String key, long numel, long offset, long[] size, long[] stride) {
        Pickle p = new Pickle().op(0x80, 2).global("collections", "OrderedDict").op(')', 'R')
                .str(key).global("torch._utils", "_rebuild_tensor_v2").op('(')
                .op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").long1(numel).op('t', 'Q')
                .long1(offset).op('(');
        for (long s : size) p.long1(s);
        p.op('t', '(');
        for (long s : stride) p.long1(s);
        return p.op('t', 0x89).global("collections", "OrderedDict").op(')', 'R', 't', 'R', 's', '.').bytes();
    }

    /** A few pickle opcodes, enough to write test pickles by hand. */
    static final class Pickle {
        private final ByteArrayOutputStream b = new ByteArrayOutputStream();

        Pickle op(int... ops) {
            for (int o : ops) b.write(o);
            return this;
        }

        Pickle str(String s) { // BINUNICODE
            byte[] u = s.getBytes(UTF_8);
            op('X');
            for (int i = 0; i < 4; i++) b.write(u.length >>> (8 * i));
            b.writeBytes(u);
            return this;
        }

        Pickle global(String module, String name) {
            op('c');
            b.writeBytes((module + "\n" + name + "\n").getBytes(UTF_8));
            return this;
        }

        Pickle long1(long v) { // LONG1 with 8 bytes: any long, negative ones included
            op(0x8a, 8);
            for (int i = 0; i < 8; i++) b.write((int) (v >>> (8 * i)));
            return this;
        }

        byte[] bytes() {
            return b.toByteArray();
        }
    }

    private static byte[] floats(float... v) {
        ByteBuffer bb = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) bb.putFloat(x);
        return bb.array();
    }

    private static long[] longs(String csv) {
        return Arrays.stream(csv.split(",")).mapToLong(s -> Long.parseLong(s.strip())).toArray();
    }

    private static byte[] hex(String s) {
        String[] parts = s.strip().split("\\s+");
        byte[] out = new byte[parts.length];
        for (int i = 0; i < parts.length; i++) out[i] = (byte) Integer.parseInt(parts[i], 16);
        return out;
    }

    private static byte[] repeat(byte v, int n) {
        byte[] b = new byte[n];
        Arrays.fill(b, v);
        return b;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        for (byte[] p : parts) bos.writeBytes(p);
        return bos.toByteArray();
    }

    private static int indexOf(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = Math.max(0, from); i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }
}
