package org.resnet4j.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.train.TrainConfig;

/** The command line's trainer: a progress line per epoch quarter and both curves after every epoch. */
class CurvePlotsTest {
    @TempDir
    Path dir;

    @Test
    void reportingTrainerDrawsProgressAndBothCurves() throws Exception {
        TrainConfig c = new TrainConfig();
        c.model = "resnet8";
        c.shapesTrain = 96;
        c.shapesTest = 32;
        c.batchSize = 32;
        c.epochs = 2;
        c.threads = 2;
        c.runsDir = dir.toString();
        c.name = "curves";
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        CurvePlots.reportingTrainer(c, new PrintStream(buf, true)).fit();
        String out = buf.toString();
        assertTrue(out.contains("epoch 1/2 100%") && out.contains("epoch 2/2 100%"), out);
        for (String f : List.of("loss.png", "accuracy.png")) {
            byte[] png = Files.readAllBytes(dir.resolve("curves").resolve(f));
            assertEquals((byte) 0x89, png[0], f);
            assertEquals('P', png[1], f);
            assertTrue(png.length > 2000, f + " has a plot in it: " + png.length + " bytes");
        }
    }
}
