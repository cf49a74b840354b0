package org.resnet4j.io.pth;

import org.resnet4j.io.WeightsFormatException;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * A restricted unpickler: the subset of Python's pickle virtual machine (protocols 0-5 binary
 * opcodes, as documented in CPython's Lib/pickletools.py and PEP 307/3154/574) that
 * {@code torch.save} emits, interpreted without ever executing code or instantiating classes.
 *
 * <p>Python's {@code pickle.load} imports any {@code module.name} a GLOBAL opcode names and calls
 * it on REDUCE, which is how a pickle runs {@code os.system}. Here GLOBAL only asks a
 * {@link Policy} for a Java object standing for the name (the policy refuses everything not on its
 * allow-list), and REDUCE, BUILD, NEWOBJ and persistent ids are likewise handed to the policy, which
 * interprets the few callables it allows. The machine itself knows nothing about PyTorch.
 *
 * <p>The input is untrusted, so every length is checked against the bytes actually left before
 * anything is allocated, every pop is checked for underflow, and the stack, memo, container sizes,
 * MARK nesting and tuple nesting are bounded. Containers compare by identity (tuples of hashable
 * values excepted), so a self-referencing list built through the memo cannot send
 * {@code equals}/{@code hashCode}/{@code toString} into unbounded recursion.
 */
final class PickleVm {
    /** Most stack entries, memo entries and container elements in one pickle: far beyond any state_dict. */
    static final int MAX_STACK = 1 << 20, MAX_MEMO = 1 << 22;
    static final long MAX_ITEMS = 1L << 24;
    /** Open MARKs and nested tuples: torch.save nests three or four deep. */
    static final int MAX_NESTING = 100;
    /** GLOBAL operands are "module\n" and "name\n"; Python identifiers in practice stay far below this. */
    private static final int MAX_LINE = 1024;
    /** Longest LONG1/LONG4 integer accepted, in bytes. */
    private static final int MAX_LONG_BYTES = 256;

    /** Where the bytes come from; positions are for error messages and for reading on after STOP. */
    interface Input {
        /** The next byte, or -1 at the end. */
        int read() throws IOException;

        /** Exactly n bytes; n has been checked against {@link #remaining()}. */
        byte[] readBytes(int n) throws IOException;

        long remaining();

        long position();
    }

    /** What the allow-list decides: the only way pickled data turns into anything but plain values. */
    interface Policy {
        /** A Java stand-in for {@code module.name}, or a WeightsFormatException naming it. */
        Object global(String module, String name, String at) throws WeightsFormatException;

        /** REDUCE: {@code callable(*args)}; the policy refuses callables it did not hand out. */
        Object reduce(Object callable, Tuple args, String at) throws WeightsFormatException;

        /** BUILD: {@code target.__setstate__(state)} or its default, attribute assignment. */
        void build(Object target, Object state, String at) throws WeightsFormatException;

        /** NEWOBJ / NEWOBJ_EX: {@code cls.__new__(cls, *args)}. */
        Object newObj(Object cls, Tuple args, String at) throws WeightsFormatException;

        /** BINPERSID: the object a persistent id stands for. */
        Object persistentLoad(Object pid, String at) throws WeightsFormatException;
    }

    /** Python's None (the stack cannot hold Java null in messages cleanly). */
    enum None { NONE }

    /**
     * An immutable Python tuple. It is hashable (usable as a dict key) when every element is,
     * and nests at most {@link #MAX_NESTING} tuples deep, so equals/hashCode recursion is bounded.
     */
    static final class Tuple {
        final List<Object> items;
        final boolean hashable;
        final int depth;
        private final int hash;

        Tuple(List<Object> items) {
            this.items = Collections.unmodifiableList(items);
            boolean h = true;
            int d = 0, hc = 1;
            for (Object o : items) {
                if (o instanceof Tuple t) {
                    d = Math.max(d, t.depth);
                    h &= t.hashable;
                } else {
                    h &= isScalar(o);
                }
                // Only scalars and hashable tuples hash by value (their hashes are cached, so no
                // recursion); anything else can never be a dict key and hashes by identity.
                hc = 31 * hc + (isScalar(o) || o instanceof Tuple ? o.hashCode() : System.identityHashCode(o));
            }
            this.hashable = h;
            this.depth = d + 1;
            this.hash = hc;
        }

        int size() {
            return items.size();
        }

        Object get(int i) {
            return items.get(i);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Tuple t && hash == t.hash && items.equals(t.items);
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public String toString() {
            return describe(this);
        }
    }

    /** A Python list; identity equality (it may contain itself). */
    static final class PyList {
        final ArrayList<Object> items = new ArrayList<>();

        @Override
        public String toString() {
            return describe(this);
        }
    }

    /**
     * A Python dict (insertion-ordered, as dicts are since Python 3.7). {@code ordered} marks a
     * {@code collections.OrderedDict}, the only object whose attributes BUILD may set.
     */
    static final class PyDict {
        final LinkedHashMap<Object, Object> map = new LinkedHashMap<>();
        final boolean ordered;

        PyDict(boolean ordered) {
            this.ordered = ordered;
        }

        @Override
        public String toString() {
            return describe(this);
        }
    }

    private final Input in;
    private final Policy policy;
    private final String where;
    private final long maxBytes;
    private final ArrayList<Object> stack = new ArrayList<>();
    private int[] marks = new int[8];
    private int markCount;
    private final HashMap<Long, Object> memo = new HashMap<>();
    private long items;
    private long opStart;
    private int op;

    private PickleVm(Input in, Policy policy, String where, long maxBytes) {
        this.in = in;
        this.policy = policy;
        this.where = where;
        this.maxBytes = maxBytes;
    }

    /**
     * Runs one pickle from the input's current position to its STOP opcode and returns the
     * result; the input is left just after STOP (the legacy torch format puts several pickles and
     * raw data in one file). {@code where} prefixes every error message (file and entry);
     * the pickle may span at most {@code maxBytes}.
     */
    static Object load(Input in, Policy policy, String where, long maxBytes) throws WeightsFormatException {
        return new PickleVm(in, policy, where, maxBytes).run();
    }

    private Object run() throws WeightsFormatException {
        long start = in.position();
        try {
            while (true) {
                opStart = in.position();
                if (opStart - start > maxBytes) throw bad("pickle is longer than the limit of " + maxBytes + " bytes");
                op = in.read();
                if (op < 0) throw bad("pickle data ends without a STOP opcode (truncated file?)");
                switch (op) {
                    case 0x80 -> { // PROTO
                        int v = u8();
                        if (v > 5) throw bad("unsupported pickle protocol " + v + " (this reader knows 0 to 5)");
                    }
                    case 0x95 -> readBytesChecked(8, "FRAME length"); // FRAME: a buffering hint, no effect
                    case '.' -> { // STOP
                        return pop();
                    }
                    case '(' -> { // MARK
                        if (markCount == MAX_NESTING) throw bad("more than " + MAX_NESTING + " nested MARKs");
                        if (markCount == marks.length) marks = Arrays.copyOf(marks, 2 * marks.length);
                        marks[markCount++] = stack.size();
                    }
                    case '0' -> pop(); // POP
                    case '1' -> popMark(); // POP_MARK
                    case '2' -> push(peek()); // DUP
                    case '}' -> push(new PyDict(false)); // EMPTY_DICT
                    case ']' -> push(new PyList()); // EMPTY_LIST
                    case ')' -> push(new Tuple(List.of())); // EMPTY_TUPLE
                    case 'N' -> push(None.NONE);
                    case 0x88 -> push(Boolean.TRUE); // NEWTRUE
                    case 0x89 -> push(Boolean.FALSE); // NEWFALSE
                    case 'J' -> push((long) le(4, true)); // BININT: signed 32-bit
                    case 'K' -> push((long) u8()); // BININT1
                    case 'M' -> push(le(2, false)); // BININT2: unsigned 16-bit
                    case 0x8a -> push(longN(u8())); // LONG1
                    case 0x8b -> { // LONG4
                        long n = le(4, true);
                        if (n < 0) throw bad("negative LONG4 length " + n);
                        push(longN(n));
                    }
                    case 'G' -> push(ByteBuffer.wrap(readBytesChecked(8, "BINFLOAT")).getDouble()); // big-endian
                    case 'X' -> push(utf8(le(4, false))); // BINUNICODE
                    case 0x8c -> push(utf8(u8())); // SHORT_BINUNICODE
                    case 0x8d -> push(utf8(le(8, false))); // BINUNICODE8
                    // Python 2 str, which torch.load decodes as UTF-8 by default (pickle_load_args encoding)
                    case 'T' -> push(utf8(le(4, true))); // BINSTRING
                    case 'U' -> push(utf8(u8())); // SHORT_BINSTRING
                    case 'B' -> push(readBytesChecked(le(4, false), "BINBYTES")); // bytes
                    case 'C' -> push(readBytesChecked(u8(), "SHORT_BINBYTES"));
                    case 0x8e -> push(readBytesChecked(le(8, false), "BINBYTES8"));
                    case 'q' -> put(u8()); // BINPUT
                    case 'r' -> put(le(4, false)); // LONG_BINPUT
                    case 0x94 -> put(memo.size()); // MEMOIZE
                    case 'h' -> get(u8()); // BINGET
                    case 'j' -> get(le(4, false)); // LONG_BINGET
                    case 't' -> push(tuple(popMark())); // TUPLE
                    case 0x85 -> push(tuple(popN(1))); // TUPLE1
                    case 0x86 -> push(tuple(popN(2))); // TUPLE2
                    case 0x87 -> push(tuple(popN(3))); // TUPLE3
                    case 'l' -> { // LIST
                        PyList l = new PyList();
                        addAll(l, popMark());
                        push(l);
                    }
                    case 'd' -> { // DICT
                        PyDict d = new PyDict(false);
                        setItems(d, popMark());
                        push(d);
                    }
                    case 'a' -> { // APPEND
                        Object v = pop();
                        addAll(list(peek()), List.of(v));
                    }
                    case 'e' -> { // APPENDS
                        List<Object> vs = popMark();
                        addAll(list(peek()), vs);
                    }
                    case 's' -> { // SETITEM
                        Object v = pop(), k = pop();
                        setItems(dict(peek()), Arrays.asList(k, v));
                    }
                    case 'u' -> { // SETITEMS
                        List<Object> kv = popMark();
                        setItems(dict(peek()), kv);
                    }
                    case 'c' -> { // GLOBAL "module\nname\n"
                        String module = line(), name = line();
                        push(policy.global(module, name, at()));
                    }
                    case 0x93 -> { // STACK_GLOBAL
                        Object name = pop(), module = pop();
                        if (!(module instanceof String m && name instanceof String n)) {
                            throw bad("STACK_GLOBAL operands are " + describe(module) + " and " + describe(name) + ", not strings");
                        }
                        push(policy.global(m, n, at()));
                    }
                    case 'R' -> { // REDUCE: callable(*args)
                        Object args = pop(), f = pop();
                        if (!(args instanceof Tuple t)) throw bad("REDUCE arguments are " + describe(args) + ", not a tuple");
                        push(policy.reduce(f, t, at()));
                    }
                    case 'b' -> { // BUILD
                        Object state = pop();
                        policy.build(peek(), state, at());
                    }
                    case 0x81 -> { // NEWOBJ: cls.__new__(cls, *args)
                        Object args = pop(), cls = pop();
                        if (!(args instanceof Tuple t)) throw bad("NEWOBJ arguments are " + describe(args) + ", not a tuple");
                        push(policy.newObj(cls, t, at()));
                    }
                    case 0x92 -> { // NEWOBJ_EX: cls.__new__(cls, *args, **kwargs); no keyword arguments here
                        Object kwargs = pop(), args = pop(), cls = pop();
                        if (!(args instanceof Tuple t)) throw bad("NEWOBJ_EX arguments are " + describe(args) + ", not a tuple");
                        if (!(kwargs instanceof PyDict d && d.map.isEmpty())) throw bad("NEWOBJ_EX with keyword arguments is not supported");
                        push(policy.newObj(cls, t, at()));
                    }
                    case 'Q' -> { // BINPERSID
                        Object pid = pop();
                        push(policy.persistentLoad(pid, at()));
                    }
                    default -> throw bad(unsupported(op));
                }
            }
        } catch (WeightsFormatException e) {
            throw e;
        } catch (IOException e) {
            throw new WeightsFormatException(where + ": cannot read pickle data at byte " + opStart + ": " + e, e);
        }
    }

    /** Opcodes this machine refuses, named as in pickletools; the instantiating ones say why. */
    private static String unsupported(int op) {
        String name = switch (op) {
            case 'i' -> "INST (instantiates a class)";
            case 'o' -> "OBJ (instantiates a class)";
            case 0x82, 0x83, 0x84 -> "EXT1/EXT2/EXT4 (copyreg extension registry)";
            case 'P' -> "PERSID (text persistent id)";
            case 'I', 'L', 'F', 'S', 'V', 'g', 'p' -> "text-mode (protocol 0) opcode " + quoteChar(op);
            case 0x8f, 0x90, 0x91 -> "EMPTY_SET/ADDITEMS/FROZENSET";
            case 0x96, 0x97, 0x98 -> "BYTEARRAY8/NEXT_BUFFER/READONLY_BUFFER (out-of-band buffers)";
            default -> "opcode 0x" + Integer.toHexString(op);
        };
        return "unknown or unsupported pickle " + name;
    }

    private static String quoteChar(int op) {
        return "'" + (char) op + "'";
    }

    // ----------------------------------------------------------------------------- stack
    private void push(Object o) throws WeightsFormatException {
        if (stack.size() >= MAX_STACK) throw bad("pickle stack exceeds " + MAX_STACK + " entries");
        stack.add(o);
    }

    private Object pop() throws WeightsFormatException {
        int base = markCount == 0 ? 0 : marks[markCount - 1];
        if (stack.size() <= base) throw bad("pickle stack underflow");
        return stack.remove(stack.size() - 1);
    }

    private Object peek() throws WeightsFormatException {
        int base = markCount == 0 ? 0 : marks[markCount - 1];
        if (stack.size() <= base) throw bad("pickle stack underflow");
        return stack.get(stack.size() - 1);
    }

    private List<Object> popN(int n) throws WeightsFormatException {
        int base = markCount == 0 ? 0 : marks[markCount - 1];
        if (stack.size() - base < n) throw bad("pickle stack underflow");
        List<Object> top = stack.subList(stack.size() - n, stack.size());
        List<Object> out = new ArrayList<>(top);
        top.clear();
        return out;
    }

    /** Everything above the last MARK, which is removed. */
    private List<Object> popMark() throws WeightsFormatException {
        if (markCount == 0) throw bad("no MARK on the pickle stack");
        int base = marks[--markCount];
        List<Object> top = stack.subList(base, stack.size());
        List<Object> out = new ArrayList<>(top);
        top.clear();
        return out;
    }

    private Tuple tuple(List<Object> items) throws WeightsFormatException {
        Tuple t = new Tuple(items);
        if (t.depth > MAX_NESTING) throw bad("tuples nested more than " + MAX_NESTING + " deep");
        return t;
    }

    private PyList list(Object o) throws WeightsFormatException {
        if (o instanceof PyList l) return l;
        throw bad("APPEND target is " + describe(o) + ", not a list");
    }

    private PyDict dict(Object o) throws WeightsFormatException {
        if (o instanceof PyDict d) return d;
        throw bad("SETITEM target is " + describe(o) + ", not a dict");
    }

    private void count(int n) throws WeightsFormatException {
        items += n;
        if (items > MAX_ITEMS) throw bad("pickle builds more than " + MAX_ITEMS + " container elements");
    }

    private void addAll(PyList l, List<Object> vs) throws WeightsFormatException {
        count(vs.size());
        l.items.addAll(vs);
    }

    private void setItems(PyDict d, List<Object> kv) throws WeightsFormatException {
        if (kv.size() % 2 != 0) throw bad("SETITEMS with an odd number of stack entries (" + kv.size() + ")");
        count(kv.size() / 2);
        for (int i = 0; i < kv.size(); i += 2) {
            Object k = kv.get(i);
            if (!isHashable(k)) throw bad("unhashable dict key " + describe(k));
            d.map.put(k, kv.get(i + 1));
        }
    }

    private void put(long index) throws WeightsFormatException {
        Object v = peek();
        if (!memo.containsKey(index) && memo.size() >= MAX_MEMO) throw bad("pickle memo exceeds " + MAX_MEMO + " entries");
        memo.put(index, v);
    }

    private void get(long index) throws WeightsFormatException {
        Object v = memo.get(index);
        if (v == null) throw bad("bad memo index " + index + " (never stored)");
        push(v);
    }

    // ----------------------------------------------------------------------------- operands
    private int u8() throws IOException {
        int b = in.read();
        if (b < 0) throw bad("pickle data ends inside an opcode operand (truncated file?)");
        return b;
    }

    /** An n-byte little-endian integer, sign-extended if {@code signed}; n <= 8 (8 bytes unsigned must fit a long). */
    private long le(int n, boolean signed) throws IOException {
        long v = 0;
        for (int i = 0; i < n; i++) v |= (long) u8() << (8 * i);
        if (signed && n < 8) v = (v << (64 - 8 * n)) >> (64 - 8 * n);
        if (!signed && n == 8 && v < 0) throw bad("length " + Long.toUnsignedString(v) + " exceeds the pickle data");
        return v;
    }

    /** n bytes, after checking that they exist: a declared length never allocates more than the input holds. */
    private byte[] readBytesChecked(long n, String what) throws IOException {
        if (n < 0 || n > in.remaining() || n > Integer.MAX_VALUE - 16) {
            throw bad(what + " of " + n + " bytes exceeds the " + in.remaining() + " bytes left in the pickle data");
        }
        return in.readBytes((int) n);
    }

    /**
     * LONG1/LONG4: n bytes of little-endian two's complement; a long where it fits. torch pickles
     * nothing longer than the legacy magic number (10 bytes), and a bounded length keeps
     * BigInteger arithmetic and printing cheap.
     */
    private Object longN(long n) throws IOException {
        if (n > MAX_LONG_BYTES) throw bad("integer of " + n + " bytes is longer than the limit of " + MAX_LONG_BYTES);
        byte[] b = readBytesChecked(n, "long integer");
        if (n == 0) return 0L;
        byte[] be = new byte[b.length];
        for (int i = 0; i < b.length; i++) be[i] = b[b.length - 1 - i];
        BigInteger v = new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private String utf8(long n) throws IOException {
        byte[] b = readBytesChecked(n, "string");
        try {
            return UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw bad("string of " + n + " bytes is not valid UTF-8");
        }
    }

    private String line() throws IOException {
        byte[] buf = new byte[64];
        int n = 0;
        while (true) {
            int b = u8();
            if (b == '\n') break;
            if (n == MAX_LINE) throw bad("GLOBAL operand longer than " + MAX_LINE + " bytes");
            if (n == buf.length) buf = Arrays.copyOf(buf, 2 * n);
            buf[n++] = (byte) b;
        }
        try {
            return UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(buf, 0, n)).toString();
        } catch (CharacterCodingException e) {
            throw bad("GLOBAL operand is not valid UTF-8");
        }
    }

    // ----------------------------------------------------------------------------- helpers
    private String at() {
        return where + ": pickle byte " + opStart;
    }

    private WeightsFormatException bad(String msg) {
        return new WeightsFormatException(at() + ": " + msg);
    }

    private static boolean isScalar(Object o) {
        return o instanceof String || o instanceof Long || o instanceof BigInteger || o instanceof Double
                || o instanceof Boolean || o == None.NONE;
    }

    /** Python's hashable values that can be dict keys here: scalars and tuples of them. */
    static boolean isHashable(Object o) {
        return isScalar(o) || (o instanceof Tuple t && t.hashable);
    }

    /** A short, non-recursive-beyond-two-levels description for messages; the value may be huge or cyclic. */
    static String describe(Object o) {
        StringBuilder sb = new StringBuilder();
        describe(o, 2, sb);
        return sb.length() > 240 ? sb.substring(0, 240) + "..." : sb.toString();
    }

    private static void describe(Object o, int depth, StringBuilder sb) {
        if (o instanceof String s) {
            sb.append("str '").append(s.length() > 80 ? s.substring(0, 80) + "..." : s).append('\'');
        } else if (o instanceof Long || o instanceof BigInteger) {
            String s = o.toString();
            sb.append("int ").append(s.length() > 40 ? s.substring(0, 40) + "..." : s);
        } else if (o instanceof Double d) {
            sb.append("float ").append(d);
        } else if (o instanceof Boolean b) {
            sb.append("bool ").append(b ? "True" : "False");
        } else if (o == None.NONE) {
            sb.append("None");
        } else if (o instanceof byte[] b) {
            sb.append("bytes of length ").append(b.length);
        } else if (o instanceof Tuple t) {
            if (depth == 0) {
                sb.append("a tuple of ").append(t.size());
                return;
            }
            sb.append("tuple (");
            for (int i = 0; i < Math.min(t.size(), 6); i++) {
                if (i > 0) sb.append(", ");
                describe(t.get(i), depth - 1, sb);
            }
            sb.append(t.size() > 6 ? ", ...)" : ")");
        } else if (o instanceof PyList l) {
            sb.append("a list of ").append(l.items.size());
        } else if (o instanceof PyDict d) {
            sb.append(d.ordered ? "an OrderedDict of " : "a dict of ").append(d.map.size());
        } else {
            sb.append(o); // policy objects describe themselves
        }
    }
}
