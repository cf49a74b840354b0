package org.resnet4j.experiments;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import org.resnet4j.testing.Cli;
import org.resnet4j.testing.Cli.Run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GradflowCommandTest {
    @TempDir
    Path dir;

    private static Run run(String... args) {
        return Cli.run(args);
    }

    @Test
    void writesCsvAndPlotForABatchOfShapes() throws Exception {
        Path out = dir.resolve("r8");
        Run r = run("gradflow", "--model", "resnet8", "--data", "shapes", "--batch", "6", "--seed", "1", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        List<String> csv = Files.readAllLines(out.resolve("gradflow.csv"));
        assertEquals(9, csv.size(), "header + 8 conv/linear weights");
        assertTrue(csv.get(1).startsWith("0,conv1,"), csv.get(1));
        assertTrue(csv.get(8).startsWith("7,fc,Linear,6x64,"), csv.get(8));
        byte[] png = Files.readAllBytes(out.resolve("gradflow.png"));
        assertArrayEquals(DegradationReportTest.PNG_MAGIC, Arrays.copyOf(png, 8));
        assertTrue(Files.exists(out.resolve("activations.csv")));
        assertTrue(r.out().contains("layer1.0.conv2") && r.out().contains("update/w"), r.out());
    }

    @Test
    void noBnJsonAndErrors() throws Exception {
        Path out = dir.resolve("p20");
        Run r = run("gradflow", "--model", "plain20", "--no-bn", "--batch", "3", "--json", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        Object json = r.json();
        assertEquals(false, Cli.at(json, "batch_norm"));
        assertEquals(20, ((java.util.List<?>) Cli.at(json, "layers")).size());
        assertTrue(Files.exists(out.resolve("gradflow.png")));

        Run bad = run("gradflow", "--model", "resnet18", "--no-bn", "--out", dir.resolve("x").toString());
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--no-bn needs a CIFAR net"), bad.err());
    }
}
