package org.resnet4j.io.pth;

import org.resnet4j.io.WeightsFormatException;
import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.resnet4j.io.pth.PthArchive.MAX_ELEMENTS;
import static org.resnet4j.io.pth.PthArchive.checkedSize;
import static org.resnet4j.io.pth.PthArchive.entry;
import static org.resnet4j.io.pth.PthArchive.quote;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.resnet4j.io.pth.PickleVm.PyDict;
import org.resnet4j.io.pth.PickleVm.Tuple;
import org.resnet4j.io.pth.PthTensors.Storage;
import org.resnet4j.io.pth.PthTensors.StorageType;
import org.resnet4j.io.pth.PthTensors.TensorRef;

/**
 * torch.load's unpickler reduced to what a state_dict needs (torch/serialization.py, torch/_utils.py):
 * the allow-list that {@link PickleVm} consults for every global, REDUCE, BUILD, NEWOBJ and
 * persistent id. It interprets the four rebuild functions itself and checks each storage and view
 * against the file before {@link PthTensors} commits memory to it; {@link #NO_GLOBALS} serves the
 * pickles that must hold plain values only.
 */
final class PthPicklePolicy implements PickleVm.Policy {
    /** For the legacy preamble and key list: plain values only. */
    static final PickleVm.Policy NO_GLOBALS = new PickleVm.Policy() {
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

    final Path file;
    final boolean legacy;
    final ZipFile zip;
    final String prefix;
    final long fileSize;
    final LinkedHashMap<String, Storage> storages = new LinkedHashMap<>();

    PthPicklePolicy(Path file, boolean legacy, ZipFile zip, String prefix, long fileSize) {
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
