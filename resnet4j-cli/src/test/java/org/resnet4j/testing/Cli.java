package org.resnet4j.testing;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import org.resnet4j.cli.Main;
import org.resnet4j.io.json.Json;

/** Runs the command line in-process and captures exit code, standard output and error output. */
public final class Cli {
    private Cli() {}

    /** One run's exit code and output. */
    public record Run(int code, String out, String err) {
        /** Standard output parsed as JSON. */
        public Object json() {
            return Json.parse(out);
        }
    }

    /**
     * The value at {@code path} in parsed JSON: strings index objects, integers arrays.
     * A missing step fails with the path so far.
     */
    public static Object at(Object json, Object... path) {
        Object v = json;
        StringBuilder where = new StringBuilder("$");
        for (Object step : path) {
            where.append(step instanceof Integer ? "[" + step + "]" : "." + step);
            if (step instanceof Integer i && v instanceof List<?> l && i < l.size()) v = l.get(i);
            else if (step instanceof String k && v instanceof Map<?, ?> m && m.containsKey(k)) v = m.get(k);
            else throw new AssertionError("no " + where + " in " + Json.write(json));
        }
        return v;
    }

    /** {@link #at} as a number. */
    public static double number(Object json, Object... path) {
        return ((Number) at(json, path)).doubleValue();
    }

    public static synchronized Run run(String... args) {
        PrintStream prev = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        try {
            System.setOut(new PrintStream(buf, true));
            var cl = Main.commandLine();
            cl.setErr(new PrintWriter(err, true));
            int code = cl.execute(args);
            return new Run(code, buf.toString(), err.toString());
        } finally {
            System.setOut(prev);
        }
    }
}
