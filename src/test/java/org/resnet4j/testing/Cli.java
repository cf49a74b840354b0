package org.resnet4j.testing;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.resnet4j.cli.Main;

/** Runs the command line in-process and captures exit code, standard output and error output. */
public final class Cli {
    private Cli() {}

    public record Run(int code, String out, String err) {}

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
