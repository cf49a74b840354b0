package org.resnet4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.data.ImageFolder;
import org.resnet4j.detection.Detections;
import org.resnet4j.detection.Fcos;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.nn.Init;
import org.resnet4j.testing.Cli;

class DetectCommandTest {
    @TempDir
    Path dir;

    @Test
    void detectionsInTheImagesPixelsBestFirstAsTheLibraryGivesThem() throws Exception {
        Init.manualSeed(11);
        Fcos m = Fcos.create("fcos_resnet18_fpn", 5, true);
        Path w = dir.resolve("fcos.safetensors");
        SafeTensors.write(w, m.stateDict(), Map.of());
        BufferedImage bi = new BufferedImage(90, 60, BufferedImage.TYPE_BYTE_GRAY); // grey: decoded to three channels
        for (int y = 0; y < 60; y++) for (int x = 0; x < 90; x++) bi.getRaster().setSample(x, y, 0, (x * y) % 256);
        Path img = dir.resolve("grey.png");
        ImageIO.write(bi, "png", img.toFile());
        Path out = dir.resolve("out");

        Cli.Run r = Cli.run("detect", "--model", "fcos_resnet18_fpn", "--weights", w.toString(), "--score-threshold", "0",
                "--detections-per-image", "7", "--min-size", "96", "--max-size", "128", "--out", out.toString(), "--json", img.toString());
        assertEquals(0, r.code(), r.err());
        List<?> dets = (List<?>) Cli.at(r.json(), 0, "detections");
        assertEquals(7, dets.size(), "at most --detections-per-image, and random weights give plenty at threshold 0");
        m.setOptions(new Fcos.Options(96, 128, m.options().centerSamplingRadius(), 0f, 0.6f, 7, m.options().topkCandidates()));
        m.eval();
        Detections want = m.detect(List.of(ImageFolder.decode(img, 3))).getFirst();
        double last = Double.MAX_VALUE;
        for (int i = 0; i < dets.size(); i++) {
            Map<?, ?> d = (Map<?, ?>) dets.get(i);
            double score = ((Number) d.get("score")).doubleValue();
            assertTrue(score <= last, "best first");
            last = score;
            List<?> box = (List<?>) d.get("box");
            for (int k = 0; k < 4; k++) assertEquals(want.boxes().data()[4 * i + k], ((Number) box.get(k)).floatValue(), 1e-4f);
            assertTrue(((Number) box.get(2)).doubleValue() <= 90 && ((Number) box.get(3)).doubleValue() <= 60, "in the image's pixels");
            assertEquals(want.labels()[i], ((Number) d.get("label")).intValue());
            assertEquals("class " + want.labels()[i], d.get("class"));
        }
        BufferedImage drawn = ImageIO.read(out.resolve("grey.detections.png").toFile());
        assertArrayEquals(new int[] {90, 60}, new int[] {drawn.getWidth(), drawn.getHeight()});
    }

    @Test
    void badWeightsAndSizesAreClearErrors() throws Exception {
        Path w = dir.resolve("r18.safetensors");
        assertEquals(0, Cli.run("init", "--model", "resnet18", "--output", w.toString()).code());
        Path img = dir.resolve("a.png");
        ImageIO.write(new BufferedImage(20, 20, BufferedImage.TYPE_INT_RGB), "png", img.toFile());
        Cli.Run r = Cli.run("detect", "--model", "fcos_resnet18_fpn", "--weights", w.toString(), img.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("r18.safetensors") && r.err().contains("cls_logits"), r.err());
        r = Cli.run("detect", "--model", "fcos_resnet18_fpn", "--weights", w.toString(), "--min-size", "0", img.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--min-size must be >= 1, got 0"), r.err());
    }
}
