package org.resnet4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.data.ImageDecoder;
import org.resnet4j.data.SyntheticShapes;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.models.Models;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.testing.Cli;

/** Damaged files at the command line: predict refuses them by name, training skips, counts and records them. */
class DamagedImagesTest {
    @TempDir
    Path dir;

    @AfterEach
    void resetLimit() {
        ImageDecoder.setMaxPixels(ImageDecoder.DEFAULT_MAX_PIXELS);
    }

    private static byte[] encode(Tensor chw, String format) throws Exception {
        BufferedImage img = ImageDecoder.toImage(chw, 1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, format, out);
        return out.toByteArray();
    }

    @Test
    void predictRefusesATruncatedJpegAndAnImageOverTheLimit() throws Exception {
        Path weights = dir.resolve("r18.safetensors");
        SafeTensors.write(weights, Models.create("resnet18").stateDict(), null);
        byte[] jpg = encode(new SyntheticShapes(1, 4, 64).get(0).image(), "jpg");
        Path whole = dir.resolve("whole.jpg"), half = dir.resolve("half.jpg");
        Files.write(whole, jpg);
        Files.write(half, Arrays.copyOf(jpg, jpg.length / 2));

        Cli.Run r = Cli.run("predict", "--model", "resnet18", "--weights", weights.toString(), "--json", whole.toString(), half.toString());
        assertEquals(2, r.code(), "a refused file makes the exit code non-zero");
        assertTrue(r.err().contains("half.jpg") && r.err().contains("truncated"), r.err());
        assertEquals(1, ((List<?>) r.json()).size(), "the intact file is still answered");

        r = Cli.run("predict", "--model", "resnet18", "--weights", weights.toString(), "--max-image-pixels", "4095", whole.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("whole.jpg") && r.err().contains("64x64") && r.err().contains("--max-image-pixels"), r.err());
    }

    @Test
    void trainingSkipsCountsAndRecordsUnreadableFilesPerSplit() throws Exception {
        Path data = dir.resolve("folder");
        SyntheticShapes train = new SyntheticShapes(24, 1, 32), val = new SyntheticShapes(8, 2, 32);
        for (int i = 0; i < 24; i++) write(data.resolve("train"), train, i);
        for (int i = 0; i < 8; i++) write(data.resolve("val"), val, i);
        Path someTrainClass = Files.list(data.resolve("train")).sorted().findFirst().orElseThrow();
        Path someValClass = Files.list(data.resolve("val")).sorted().findFirst().orElseThrow();
        byte[] jpg = encode(train.get(0).image(), "jpg");
        Files.write(someTrainClass.resolve("cut.jpg"), Arrays.copyOf(jpg, jpg.length * 2 / 3));
        Files.write(someTrainClass.resolve("empty.png"), new byte[0]);
        Files.write(someTrainClass.resolve("noise.png"), new byte[] {9, 8, 7, 6, 5, 4, 3, 2, 1});
        Files.write(someValClass.resolve("cut.jpg"), Arrays.copyOf(jpg, jpg.length / 3));

        Cli.Run r = Cli.run("train", "--model", "resnet8", "--data", data.toString(), "--epochs", "2", "--batch-size", "8",
                "--image-size", "32", "--threads", "2", "--workers", "1", "--runs-dir", dir.resolve("runs").toString(), "--name", "dmg");
        assertEquals(0, r.code(), r.err() + r.out());
        String counts = "3 of 27 train files and 1 of 9 test files unreadable, skipped";
        assertTrue(r.out().contains("first pass over the data: " + counts), r.out());
        assertTrue(r.out().contains("data: " + counts), r.out());
        assertTrue(r.out().contains("files (unreadable ones are skipped and counted)"), r.out());
        assertTrue(r.out().contains("cut.jpg") && r.out().contains("empty.png") && r.out().contains("noise.png"), r.out());
        List<String> csv = Files.readAllLines(dir.resolve("runs/dmg/metrics.csv"));
        List<String> header = List.of(csv.get(0).split(","));
        for (String row : csv.subList(1, csv.size())) {
            String[] f = row.split(",", -1);
            assertEquals("3", f[header.indexOf("skipped_train")], row);
            assertEquals("1", f[header.indexOf("skipped_test")], row);
        }

        Cli.Run eval = Cli.run("eval", "--checkpoint", dir.resolve("runs/dmg/checkpoints/best.safetensors").toString(), "--data", data.toString());
        assertEquals(0, eval.code(), eval.err());
        assertTrue(eval.out().contains("(8 images") && eval.out().contains("1 of 9 test files unreadable, skipped"), eval.out());
    }

    private static void write(Path split, SyntheticShapes shapes, int i) throws Exception {
        Path d = split.resolve(SyntheticShapes.CLASSES.get(shapes.label(i)));
        Files.createDirectories(d);
        Files.write(d.resolve(i + ".png"), encode(shapes.get(i).image(), "png"));
    }
}
