package org.resnet4j.io.json;

import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON as RFC 8259 defines it, and nothing more: the safetensors header, a checkpoint's metadata,
 * a training config, a metrics row. The core library carries its own reader and writer (about as
 * long as the code that would adapt a JSON library's tree to these uses) so that it depends on
 * nothing but the JDK.
 *
 * <p>Values are plain Java objects: an object is a {@code LinkedHashMap<String, Object>} in
 * document order, an array an {@code ArrayList<Object>}, then {@code String}, {@code Boolean},
 * {@code null}, and numbers as {@code Long} (an integer literal that fits) or {@code Double}
 * (every other literal), the choice most JSON libraries make. {@link #parseExact} keeps each
 * number as a {@link JsonNumber} with its literal text instead, for readers that must check a
 * value exactly (a safetensors offset) or quote it back as written; {@link #parseWithFloatArrays}
 * reads the arrays of numbers under one member name as {@code float[]} (a tensor's data).
 *
 * <p>The reader is strict, because its input is often an untrusted file: no comments, no single
 * quotes, no NaN, no trailing commas, no data after the value, no name twice in one object (the
 * reference safetensors reader refuses those too; a map would silently keep the last), and no
 * nesting deeper than {@link #MAX_DEPTH}. Every error is a {@link JsonException} giving the
 * position.
 */
public final class Json {
    /** Deepest nesting of arrays and objects the reader accepts (bounds its recursion). */
    public static final int MAX_DEPTH = 512;

    private Json() {}

    /** Parses one JSON value, numbers as {@code Long} or {@code Double}. */
    public static Object parse(String text) {
        return new Reader(text, false).document();
    }

    /** Parses one JSON value, every number as a {@link JsonNumber} that keeps its literal text. */
    public static Object parseExact(String text) {
        return new Reader(text, true).document();
    }

    /**
     * Parses one JSON value as {@link #parse} does, except that under any object member named
     * {@code member} an array whose first element is a number is read as a {@code float[]}
     * (each literal parsed as a double, then rounded to float, as an FP32 tensor's data is read by
     * Triton), and must then hold only numbers. A tensor's data thus costs 4 bytes a number, not a
     * boxed {@code Double} and a list slot (about 24): what an inference server needs to bound the
     * memory a request holds.
     */
    public static Object parseWithFloatArrays(String text, String member) {
        Reader r = new Reader(text, false);
        r.floatMember = member;
        return r.document();
    }

    /** Parses a JSON object. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> parseObject(String text) {
        Object v = parse(text);
        if (!(v instanceof Map)) throw new JsonException("expected a JSON object, got " + kind(v));
        return (Map<String, Object>) v;
    }

    /** Compact JSON of {@code value} (maps, iterables, arrays, strings, numbers, booleans, enums, null). */
    public static String write(Object value) {
        StringBuilder sb = new StringBuilder();
        new Writer(sb, null).value(value, 0);
        return sb.toString();
    }

    /** JSON of {@code value} indented by two spaces per level, for files people read. */
    public static String writePretty(Object value) {
        StringBuilder sb = new StringBuilder();
        new Writer(sb, "  ").value(value, 0);
        return sb.toString();
    }

    /** "an object", "an array", "a string", "a number", "a boolean" or "null": for messages. */
    public static String kind(Object v) {
        if (v == null) return "null";
        if (v instanceof Map) return "an object";
        if (v instanceof List) return "an array";
        if (v instanceof String) return "a string";
        if (v instanceof Number) return "a number";
        if (v instanceof Boolean) return "a boolean";
        return v.getClass().getSimpleName();
    }

    /** A recursive-descent reader over the whole text. */
    private static final class Reader {
        private final String s;
        private final boolean exact;
        private int i, depth;
        /** See {@link #parseWithFloatArrays}: the member name, and how deep inside such members the reader is. */
        private String floatMember;
        private int insideFloatMember;
        /** Names and indices from the root to the value being read, for messages ("$.w.shape[0]"). */
        private final ArrayList<Object> path = new ArrayList<>();

        Reader(String s, boolean exact) {
            this.s = s;
            this.exact = exact;
        }

        Object document() {
            skipSpace();
            if (i >= s.length()) throw error("no JSON value (empty input)");
            Object v = value();
            skipSpace();
            if (i < s.length()) throw error("data after the JSON value");
            return v;
        }

        private Object value() {
            if (i >= s.length()) throw error("unexpected end of input");
            char c = s.charAt(i);
            return switch (c) {
                case '{' -> object();
                case '[' -> array();
                case '"' -> string();
                case 't' -> literal("true", Boolean.TRUE);
                case 'f' -> literal("false", Boolean.FALSE);
                case 'n' -> literal("null", null);
                default -> {
                    if (c == '-' || (c >= '0' && c <= '9')) yield number();
                    throw error("unexpected character " + describe(c));
                }
            };
        }

        private Map<String, Object> object() {
            enter();
            i++; // {
            LinkedHashMap<String, Object> m = new LinkedHashMap<>();
            skipSpace();
            if (peek() == '}') {
                i++;
                depth--;
                return m;
            }
            while (true) {
                skipSpace();
                if (peek() != '"') throw error("expected a name in double quotes");
                int at = i;
                String name = string();
                skipSpace();
                expect(':');
                skipSpace();
                path.add(name);
                boolean floats = name.equals(floatMember);
                if (floats) insideFloatMember++;
                Object v = value();
                if (floats) insideFloatMember--;
                path.removeLast();
                if (m.containsKey(name)) {
                    i = at;
                    throw error("duplicate key '" + abbreviate(name) + "'");
                }
                m.put(name, v);
                skipSpace();
                char c = next();
                if (c == '}') break;
                if (c != ',') {
                    i--;
                    throw error("expected ',' or '}' in an object");
                }
            }
            depth--;
            return m;
        }

        private Object array() {
            enter();
            i++; // [
            skipSpace();
            if (insideFloatMember > 0 && (peek() == '-' || (peek() >= '0' && peek() <= '9'))) return floats();
            ArrayList<Object> a = new ArrayList<>();
            if (peek() == ']') {
                i++;
                depth--;
                return a;
            }
            while (true) {
                skipSpace();
                path.add(a.size());
                a.add(value());
                path.removeLast();
                skipSpace();
                char c = next();
                if (c == ']') break;
                if (c != ',') {
                    i--;
                    throw error("expected ',' or ']' in an array");
                }
            }
            depth--;
            return a;
        }

        /** The rest of an array that started with a number, as a float[] (see {@link #parseWithFloatArrays}). */
        private float[] floats() {
            float[] f = new float[16];
            int n = 0;
            while (true) {
                skipSpace();
                char c = peek();
                if (!(c == '-' || (c >= '0' && c <= '9'))) {
                    path.add(n);
                    throw error("expected a number: an array of numbers in \"" + floatMember + "\" holds only numbers");
                }
                if (n == f.length) f = java.util.Arrays.copyOf(f, n + (n >> 1));
                f[n++] = (float) Double.parseDouble(numberText());
                skipSpace();
                char d = next();
                if (d == ']') break;
                if (d != ',') {
                    i--;
                    throw error("expected ',' or ']' in an array");
                }
            }
            depth--;
            return n == f.length ? f : java.util.Arrays.copyOf(f, n);
        }

        private void enter() {
            if (++depth > MAX_DEPTH) throw error("nesting deeper than " + MAX_DEPTH + " levels");
        }

        private String string() {
            i++; // opening quote
            StringBuilder sb = null;
            int start = i;
            while (true) {
                if (i >= s.length()) throw error("unterminated string");
                char c = s.charAt(i);
                if (c == '"') {
                    String out = sb == null ? s.substring(start, i) : sb.append(s, start, i).toString();
                    i++;
                    return out;
                }
                if (c < 0x20) throw error("control character " + describe(c) + " in a string (must be escaped)");
                if (c != '\\') {
                    i++;
                    continue;
                }
                if (sb == null) sb = new StringBuilder();
                sb.append(s, start, i);
                i++;
                if (i >= s.length()) throw error("unterminated escape");
                char e = s.charAt(i++);
                switch (e) {
                    case '"' -> sb.append('"');
                    case '\\' -> sb.append('\\');
                    case '/' -> sb.append('/');
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'n' -> sb.append('\n');
                    case 'r' -> sb.append('\r');
                    case 't' -> sb.append('\t');
                    case 'u' -> {
                        if (i + 4 > s.length()) throw error("truncated \\u escape");
                        int cp = 0;
                        for (int k = 0; k < 4; k++) {
                            int d = Character.digit(s.charAt(i + k), 16);
                            if (d < 0) throw error("bad \\u escape");
                            cp = cp * 16 + d;
                        }
                        i += 4;
                        sb.append((char) cp);
                    }
                    default -> {
                        i--;
                        throw error("bad escape \\" + e);
                    }
                }
                start = i;
            }
        }

        private Object number() {
            String text = numberText();
            if (exact) return new JsonNumber(text);
            if (integer(text) && text.length() - (text.charAt(0) == '-' ? 1 : 0) <= 19) {
                try {
                    return Long.parseLong(text);
                } catch (NumberFormatException ignored) { // beyond a long: a double, as below
                }
            }
            return Double.parseDouble(text);
        }

        private static boolean integer(String text) {
            for (int k = 0; k < text.length(); k++) {
                char c = text.charAt(k);
                if (c == '.' || c == 'e' || c == 'E') return false;
            }
            return true;
        }

        /** The literal of the number at the position, checked against JSON's grammar. */
        private String numberText() {
            int start = i;
            if (peek() == '-') i++;
            if (peek() == '0') {
                i++;
            } else if (peek() >= '1' && peek() <= '9') {
                while (peek() >= '0' && peek() <= '9') i++;
            } else {
                throw error("bad number");
            }
            if (peek() == '.') {
                i++;
                if (!(peek() >= '0' && peek() <= '9')) throw error("bad number: digits expected after '.'");
                while (peek() >= '0' && peek() <= '9') i++;
            }
            if (peek() == 'e' || peek() == 'E') {
                i++;
                if (peek() == '+' || peek() == '-') i++;
                if (!(peek() >= '0' && peek() <= '9')) throw error("bad number: digits expected in the exponent");
                while (peek() >= '0' && peek() <= '9') i++;
            }
            return s.substring(start, i);
        }

        private Object literal(String word, Object v) {
            if (!s.startsWith(word, i)) throw error("unexpected character " + describe(s.charAt(i)));
            i += word.length();
            return v;
        }

        private void skipSpace() {
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
                i++;
            }
        }

        private char peek() {
            return i < s.length() ? s.charAt(i) : '\0';
        }

        private char next() {
            if (i >= s.length()) throw error("unexpected end of input");
            return s.charAt(i++);
        }

        private void expect(char c) {
            if (peek() != c) throw error("expected '" + c + "'");
            i++;
        }

        private JsonException error(String what) {
            int line = 1, col = 1;
            for (int k = 0; k < Math.min(i, s.length()); k++) {
                if (s.charAt(k) == '\n') {
                    line++;
                    col = 1;
                } else {
                    col++;
                }
            }
            StringBuilder where = new StringBuilder();
            if (!path.isEmpty()) {
                where.append(" in $");
                for (Object p : path) {
                    if (p instanceof Integer k) where.append('[').append(k).append(']');
                    else where.append('.').append(abbreviate((String) p));
                }
            }
            return new JsonException(what + where + " at line " + line + " column " + col);
        }

        private static String describe(char c) {
            return c < 0x20 || c > 0x7e ? String.format("U+%04X", (int) c) : "'" + c + "'";
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }

    /** Writes compact or indented JSON. */
    private record Writer(StringBuilder sb, String indent) {
        void value(Object v, int level) {
            if (v == null) {
                sb.append("null");
            } else if (v instanceof String str) {
                string(str);
            } else if (v instanceof Boolean b) {
                sb.append(b);
            } else if (v instanceof Double || v instanceof Float) {
                double d = ((Number) v).doubleValue();
                if (!Double.isFinite(d)) throw new IllegalArgumentException("JSON has no " + d + " (NaN and infinities cannot be written)");
                sb.append(v instanceof Float f ? Float.toString(f) : Double.toString(d));
            } else if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte
                    || v instanceof BigInteger || v instanceof BigDecimal || v instanceof JsonNumber) {
                sb.append(v);
            } else if (v instanceof Enum<?> e) {
                string(e.name());
            } else if (v instanceof Map<?, ?> m) {
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!(e.getKey() instanceof String k)) throw new IllegalArgumentException("JSON object keys are strings, got " + e.getKey());
                    if (!first) sb.append(',');
                    first = false;
                    newline(level + 1);
                    string(k);
                    sb.append(indent == null ? ":" : ": ");
                    value(e.getValue(), level + 1);
                }
                if (!first) newline(level);
                sb.append('}');
            } else if (v instanceof Iterable<?> it) {
                sb.append('[');
                boolean first = true;
                for (Object x : it) {
                    if (!first) sb.append(',');
                    first = false;
                    newline(level + 1);
                    value(x, level + 1);
                }
                if (!first) newline(level);
                sb.append(']');
            } else if (v.getClass().isArray()) {
                ArrayList<Object> list = new ArrayList<>();
                for (int k = 0, n = Array.getLength(v); k < n; k++) list.add(Array.get(v, k));
                value(list, level);
            } else {
                throw new IllegalArgumentException("cannot write a " + v.getClass().getName() + " as JSON");
            }
        }

        private void newline(int level) {
            if (indent == null) return;
            sb.append('\n');
            for (int k = 0; k < level; k++) sb.append(indent);
        }

        private void string(String str) {
            sb.append('"');
            for (int k = 0; k < str.length(); k++) {
                char c = str.charAt(k);
                switch (c) {
                    case '"' -> sb.append("\\\"");
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r");
                    case '\t' -> sb.append("\\t");
                    case '\b' -> sb.append("\\b");
                    case '\f' -> sb.append("\\f");
                    default -> {
                        if (c < 0x20 || c == '\u2028' || c == '\u2029') sb.append(String.format("\\u%04x", (int) c));
                        else sb.append(c);
                    }
                }
            }
            sb.append('"');
        }
    }
}
