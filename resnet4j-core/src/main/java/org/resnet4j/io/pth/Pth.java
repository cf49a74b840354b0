package org.resnet4j.io.pth;

import static org.resnet4j.io.pth.PthArchive.bad;
import static org.resnet4j.io.pth.PthArchive.checkedSize;
import static org.resnet4j.io.pth.PthArchive.entry;
import static org.resnet4j.io.pth.PthArchive.quote;

import org.resnet4j.io.WeightsFormatException;
import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.resnet4j.io.pth.PthPicklePolicy.NO_GLOBALS;
import static org.resnet4j.io.pth.PthTensors.decode;
import static org.resnet4j.io.pth.PthTensors.materialize;
import static org.resnet4j.io.pth.PthTensors.stateDict;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.resnet4j.io.pth.PickleVm.PyDict;
import org.resnet4j.io.pth.PickleVm.PyList;
import org.resnet4j.io.pth.PthTensors.Storage;
import org.resnet4j.io.pth.PthTensors.TensorRef;
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
 * {@code _rebuild_parameter} and the {@code torch.*Storage} types; each is a Java enum constant,
 * so REDUCE can only ever "call" one of these four rebuild functions, interpreted by
 * {@link PthPicklePolicy}.
 * Anything else ({@code os.system}, {@code builtins.eval}, ...) is refused with a
 * {@link WeightsFormatException} naming it. Storages are persistent ids
 * {@code ('storage', storage_type, key, location, numel)}; tensors are
 * {@code _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])} and
 * may be arbitrary non-negative-stride views (transposes, slices, expands), several per storage.
 *
 * <p>Every claim of the file is checked before memory is committed to it: a storage's declared size
 * against its zip entry or the file, each view's extent against its storage, the total output
 * against {@link #MAX_TOTAL_BYTES}. Results are contiguous float32 tensors, keys in the file's order.
 *
 * <p>This class handles the two containers (finding the pickles and the storages' bytes, and
 * checking every size the zip directory or the file claims); {@link PthPicklePolicy} decides what
 * the pickles may contain, and {@link PthTensors} turns the storages and views into tensors.
 */
public final class Pth {
    /** Cap on the float32 bytes of all tensors of one file. */
    static final long MAX_TOTAL_BYTES = 8L << 30;
    /** Cap on one pickle; a resnet152 state_dict pickles to about 60 KB. */
    static final long MAX_PICKLE_BYTES = 64L << 20;
    /** Read chunk size: a multiple of every element size, so no element straddles two chunks. */
    private static final int CHUNK = 1 << 20;
    private static final BigInteger LEGACY_MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);
    private static final long LEGACY_PROTOCOL_VERSION = 1001;

    private Pth() {}

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

            PthPicklePolicy policy = new PthPicklePolicy(file, false, zip, prefix, fileSize);
            Object root = PickleVm.load(new BytesInput(pkl), policy, where, MAX_PICKLE_BYTES);
            List<Map.Entry<String, TensorRef>> refs = stateDict(root, where);
            ByteOrder o = order;
            return materialize(file, refs, maxTotalBytes, (s, first, count, out) -> readZipSpan(zip, s, first, count, out, o, file));
        } catch (IOException e) {
            if (e instanceof WeightsFormatException w) throw w;
            throw bad(file, "cannot read zip archive: " + e, e);
        }
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

        PthPicklePolicy policy = new PthPicklePolicy(file, true, null, null, size);
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
}
