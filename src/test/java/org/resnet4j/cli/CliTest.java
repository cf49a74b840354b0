package org.resnet4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.io.SafeTensors;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;

class CliTest {
    @TempDir
    Path dir;

    record Run(int code, String out, String err) {}

    private static Run run(String... args) {
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

    @Test
    void modelsListsEveryModelWithItsCount() {
        Run r = run("models");
        assertEquals(0, r.code());
        for (String name : Models.all().keySet()) assertTrue(r.out().contains(name + " "), name);
        assertTrue(r.out().contains("25,557,032"), r.out());
    }

    @Test
    void infoJsonCarriesParams() {
        Run r = run("info", "--model", "resnet20", "--in-channels", "1", "--size", "28", "--json");
        assertEquals(0, r.code(), r.err());
        var json = JsonParser.parseString(r.out()).getAsJsonObject();
        long expected = Models.create("resnet20", ModelConfig.defaults(10).withInChannels(1)).parameterCount();
        assertEquals(expected, json.get("params").getAsLong());
        assertEquals("[1,10]", json.get("output").toString());
    }

    @Test
    void unknownModelIsAClearError() {
        Run r = run("info", "--model", "resnet19");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown model 'resnet19'") && r.err().contains("resnet18"), r.err());
    }

    @Test
    void forwardMatchesTheLibraryAndRejectsBadWeights() throws Exception {
        Path w = dir.resolve("w.safetensors"), x = dir.resolve("x.safetensors"), y = dir.resolve("y.safetensors");
        assertEquals(0, run("init", "--model", "resnet20", "--seed", "3", "--output", w.toString()).code());
        Tensor input = Tensor.randn(7, 2, 3, 32, 32);
        SafeTensors.write(x, Map.of("input", input), null);

        Run r = run("forward", "--model", "resnet20", "--weights", w.toString(), "--input", x.toString(), "--output", y.toString());
        assertEquals(0, r.code(), r.err());
        Tensor got = SafeTensors.read(y).tensors().get("output");

        Module m = Models.create("resnet20");
        m.loadStateDict(SafeTensors.read(w).tensors(), true);
        m.eval();
        Tensor want;
        try (var g = GradMode.noGrad()) {
            want = m.call(Variable.constant(input)).value();
        }
        assertEquals(0f, Tensor.maxAbsDiff(want, got));

        // wrong shape: named with both shapes; nothing written
        LinkedHashMap<String, Tensor> bad = new LinkedHashMap<>(SafeTensors.read(w).tensors());
        bad.put("layer1.0.conv1.weight", Tensor.zeros(16, 16, 5, 5));
        bad.remove("layer3.2.bn2.running_var");
        bad.put("layer9.weight", Tensor.zeros(1));
        Path wb = dir.resolve("bad.safetensors"), yb = dir.resolve("never.safetensors");
        SafeTensors.write(wb, bad, null);
        r = run("forward", "--model", "resnet20", "--weights", wb.toString(), "--input", x.toString(), "--output", yb.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("layer1.0.conv1.weight: expected [16, 16, 3, 3], got [16, 16, 5, 5]"), r.err());
        assertTrue(r.err().contains("missing keys: [layer3.2.bn2.running_var]"), r.err());
        assertTrue(r.err().contains("unexpected keys: [layer9.weight]"), r.err());
        assertTrue(r.err().contains("bad.safetensors"), r.err());
        assertTrue(!yb.toFile().exists());
    }

    @Test
    void forwardInTrainModeUsesBatchStatistics() throws Exception {
        Path w = dir.resolve("w.safetensors"), x = dir.resolve("x.safetensors"), y = dir.resolve("y.safetensors");
        run("init", "--model", "resnet20", "--output", w.toString());
        SafeTensors.write(x, Map.of("input", Tensor.randn(1, 4, 3, 32, 32)), null);
        run("forward", "--model", "resnet20", "--weights", w.toString(), "--input", x.toString(), "--output", y.toString());
        Tensor eval = SafeTensors.read(y).tensors().get("output");
        assertEquals(0, run("forward", "--model", "resnet20", "--weights", w.toString(), "--input", x.toString(),
                "--output", y.toString(), "--train-mode").code());
        Tensor train = SafeTensors.read(y).tensors().get("output");
        assertTrue(Tensor.maxAbsDiff(eval, train) > 1e-3, "batch statistics should change the output");
    }

    @Test
    void forwardRejectsAnInputWithoutTheInputTensor() throws Exception {
        Path w = dir.resolve("w.safetensors"), x = dir.resolve("x.safetensors");
        run("init", "--model", "resnet20", "--output", w.toString());
        SafeTensors.write(x, Map.of("images", Tensor.zeros(1, 3, 32, 32)), null);
        Run r = run("forward", "--model", "resnet20", "--weights", w.toString(), "--input", x.toString(), "--output", dir.resolve("y").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("no tensor named 'input'"), r.err());
    }

    @Test
    void demoSaysItDoesNotTrainYet() {
        Run r = run("demo");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("does not train anything yet"));
    }
}
