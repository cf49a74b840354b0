package org.resnet4j.io.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** RFC 8259 as the core reads and writes it: values, strictness, positions in errors, round trips. */
class JsonTest {
    @Test
    void readsEveryKindOfValue() {
        Object v = Json.parse(" {\"a\": [1, -2, 3.5, -0.25e2, 1E3, true, false, null, \"x\"], \"b\": {}, \"c\": []} ");
        Map<?, ?> m = (Map<?, ?>) v;
        assertEquals(List.of("a", "b", "c"), List.copyOf(m.keySet()), "document order");
        assertEquals(Arrays.asList(1L, -2L, 3.5, -25.0, 1000.0, true, false, null, "x"), m.get("a"));
        assertEquals(Map.of(), m.get("b"));
        assertEquals(List.of(), m.get("c"));
        assertEquals(Long.MIN_VALUE, Json.parse("-9223372036854775808"));
        assertEquals(Long.MAX_VALUE, Json.parse("9223372036854775807"));
        assertEquals(9.223372036854775808E18, Json.parse("9223372036854775808"), "beyond a long: a double");
        assertEquals("1.50", ((JsonNumber) ((List<?>) Json.parseExact("[1.50]")).get(0)).text(), "parseExact keeps the literal");
    }

    @Test
    void decodesEscapesAndSurrogatePairs() {
        assertEquals("q\" b\\ s/ \b\f\n\r\t \u00e9 \uD83D\uDE00", Json.parse("\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9 \\ud83d\\ude00\""));
        assertEquals("\u00e9\uD83D\uDE00", Json.parse("\"\u00e9\uD83D\uDE00\""), "raw UTF-16 passes through");
    }

    @Test
    void refusesWhatRfc8259Refuses() {
        for (String bad : List.of("", "   ", "{", "[1,]", "{\"a\":1,}", "[01]", "[1.]", "[.5]", "[1e]", "[+1]", "NaN", "[Infinity]",
                "'a'", "{a:1}", "[1] [2]", "\"tab\there\"", "\"\\x\"", "\"\\u12\"", "tru", "[1 2]", "{\"a\" 1}", "// c\n1")) {
            assertThrows(JsonException.class, () -> Json.parse(bad), () -> "accepted: " + bad);
        }
    }

    @Test
    void errorsNameThePathLineAndColumn() {
        var e = assertThrows(JsonException.class, () -> Json.parse("{\"w\": {\"shape\": [1,\n 2, x]}}"));
        assertTrue(e.getMessage().contains("$.w.shape[2]") && e.getMessage().contains("line 2 column 5"), e.getMessage());
        e = assertThrows(JsonException.class, () -> Json.parse("{\"w\": {\"dtype\": 1, \"dtype\": 2}}"));
        assertTrue(e.getMessage().contains("duplicate key 'dtype'") && e.getMessage().contains("$.w"), e.getMessage());
    }

    @Test
    void boundsNesting() {
        String ok = "[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH);
        Json.parse(ok);
        String deep = "[".repeat(Json.MAX_DEPTH + 1) + "]".repeat(Json.MAX_DEPTH + 1);
        var e = assertThrows(JsonException.class, () -> Json.parse(deep));
        assertTrue(e.getMessage().contains("deeper than " + Json.MAX_DEPTH), e.getMessage());
        assertThrows(JsonException.class, () -> Json.parse("[".repeat(100_000)), "no stack overflow on hostile input");
    }

    @Test
    void writesAndReadsBack() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "line\nquote\" back\\ ctrl\u0001 \u00e9");
        m.put("i", 42);
        m.put("l", -7L);
        m.put("d", 0.1);
        m.put("f", 1.5f);
        m.put("b", true);
        m.put("n", null);
        m.put("list", List.of(1L, "two"));
        m.put("arr", new long[] {3, 4});
        m.put("nested", Map.of("k", List.of()));
        String compact = Json.write(m);
        assertEquals("{\"s\":\"line\\nquote\\\" back\\\\ ctrl\\u0001 \u00e9\",\"i\":42,\"l\":-7,\"d\":0.1,\"f\":1.5,\"b\":true,\"n\":null,"
                + "\"list\":[1,\"two\"],\"arr\":[3,4],\"nested\":{\"k\":[]}}", compact);
        Map<String, Object> back = Json.parseObject(Json.writePretty(m));
        assertEquals(compact, Json.write(back), "pretty output parses to the same document");
        assertEquals(0.1, back.get("d"));
        assertTrue(Json.writePretty(m).contains("\n  \"s\": "), Json.writePretty(m));
        assertThrows(IllegalArgumentException.class, () -> Json.write(List.of(Double.NaN)), "JSON has no NaN");
        assertThrows(IllegalArgumentException.class, () -> Json.write(Map.of(1, 2)), "keys are strings");
    }

    @Test
    void arraysOfNumbersUnderTheNamedMemberAreReadAsFloats() {
        String text = "{\"inputs\": [{\"shape\": [2, 3], \"data\": [[0.5, -1, 2e-3], [1e39, 7, 0.1]], \"name\": \"x\"}],"
                + " \"data\": [], \"other\": [1, 2.5]}";
        Map<?, ?> m = (Map<?, ?>) Json.parseWithFloatArrays(text, "data");
        Map<?, ?> in = (Map<?, ?>) ((List<?>) m.get("inputs")).get(0);
        assertEquals(List.of(2L, 3L), in.get("shape"), "outside the member, numbers are Long and Double as usual");
        List<?> rows = (List<?>) in.get("data");
        float[] r0 = (float[]) rows.get(0), r1 = (float[]) rows.get(1);
        // the same values as parsing to double and rounding, which is what parse() then floatValue() gave
        List<?> boxed = (List<?>) ((List<?>) ((Map<?, ?>) ((List<?>) Json.parseObject(text).get("inputs")).get(0)).get("data")).get(1);
        for (int k = 0; k < 3; k++) assertEquals(((Number) boxed.get(k)).floatValue(), r1[k], 0f);
        assertEquals(0.5f, r0[0]);
        assertEquals(-1f, r0[1]);
        assertEquals(Float.POSITIVE_INFINITY, r1[0], "1e39 overflows float as a cast does");
        assertEquals(List.of(), m.get("data"), "an empty array stays a list");
        assertEquals(List.of(1L, 2.5), m.get("other"));
        float[] many = (float[]) ((Map<?, ?>) Json.parseWithFloatArrays("{\"data\": [" + "1,".repeat(999) + "1]}", "data")).get("data");
        assertEquals(1000, many.length);
        var e = assertThrows(JsonException.class, () -> Json.parseWithFloatArrays("{\"data\": [1, 2, \"x\"]}", "data"));
        assertTrue(e.getMessage().contains("$.data[2]") && e.getMessage().contains("only numbers"), e.getMessage());
        assertThrows(JsonException.class, () -> Json.parseWithFloatArrays("{\"data\": [1, 2,]}", "data"));
        assertThrows(JsonException.class, () -> Json.parseWithFloatArrays("{\"data\": [1, 2", "data"));
        assertThrows(JsonException.class, () -> Json.parseWithFloatArrays("{\"data\": [1, NaN]}", "data"));
        assertThrows(JsonException.class, () -> Json.parseWithFloatArrays("{\"data\": [01]}", "data"));
    }
}
