package org.resnet4j.experiments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DegradationExperimentTest {
    @TempDir
    Path dir;

    /** A miniature run: every artifact the report and the figures need is written. */
    @Test
    void writesRunsProbesAndTheReport() throws Exception {
        var plan = new DegradationExperiment.Plan("shapes", List.of(8, 14), 2, 128, 0, true, true, 3, 2, dir, false, 1, List.of("plain", "resnet"));
        var out = new ByteArrayOutputStream();
        DegradationReport.Output report = DegradationExperiment.run(plan, new PrintStream(out, true));
        for (String run : List.of("plain8", "resnet8", "plain14", "resnet14", "plain8-nobn", "resnet14-nobn")) {
            Path r = dir.resolve(run);
            for (String f : List.of("metrics.csv", "iterations.csv", "gradflow.csv", "probes/epoch-000.csv", "probes/epoch-002.csv")) {
                assertTrue(Files.exists(r.resolve(f)), run + "/" + f);
            }
            // 128 images, batch 128: one iteration per epoch, two epochs
            assertEquals(1 + 2, Files.readAllLines(r.resolve("iterations.csv")).size(), run);
        }
        // every net warms up from lr 0.01 over the first epoch (the plan's 1 warm-up epoch)
        assertTrue(Files.readString(dir.resolve("plain14/config.json")).contains("+warmup:1.0:0.1"),
                Files.readString(dir.resolve("plain14/config.json")));
        assertTrue(Files.exists(report.html()));
        String html = Files.readString(report.html());
        assertTrue(html.contains("plain14") && html.contains("resnet14-nobn") || html.contains("resnet14"), "runs listed in the report");
        assertTrue(Files.exists(report.errorsPng()) && Files.exists(report.gradnormsPng()));

        // --resume: finished nets are kept as they are, not trained again
        List<String> iterations = Files.readAllLines(dir.resolve("plain14/iterations.csv"));
        List<String> metrics = Files.readAllLines(dir.resolve("resnet8-nobn/metrics.csv"));
        var again = new ByteArrayOutputStream();
        var resumed = new DegradationExperiment.Plan("shapes", List.of(8, 14), 2, 128, 0, true, true, 3, 2, dir, true, 1, List.of("plain", "resnet"));
        DegradationExperiment.run(resumed, new PrintStream(again, true));
        assertEquals(8, again.toString().split("nothing left to train", -1).length - 1, again.toString());
        assertEquals(iterations, Files.readAllLines(dir.resolve("plain14/iterations.csv")));
        assertEquals(metrics, Files.readAllLines(dir.resolve("resnet8-nobn/metrics.csv")));
        assertTrue(Files.exists(report.html()));
    }

    /** --families resnet: only the residual nets are trained, and a bad family is refused. */
    @Test
    void trainsOnlyTheFamiliesAsked() throws Exception {
        var plan = new DegradationExperiment.Plan("shapes", List.of(8), 1, 128, 0, true, false, 3, 2, dir, false, 0, List.of("resnet"));
        DegradationExperiment.run(plan, new PrintStream(new ByteArrayOutputStream(), true));
        assertTrue(Files.exists(dir.resolve("resnet8/metrics.csv")));
        assertTrue(Files.notExists(dir.resolve("plain8")));
        var bad = assertThrows(IllegalArgumentException.class, () -> new DegradationExperiment.Plan("shapes", List.of(8), 1, 128, 0,
                true, false, 3, 2, dir, false, 0, List.of("dense")));
        assertTrue(bad.getMessage().contains("dense"), bad.getMessage());
    }
}
