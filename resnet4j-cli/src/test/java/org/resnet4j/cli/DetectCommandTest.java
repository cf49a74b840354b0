package org.resnet4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.data.ImageDecoder;
import org.resnet4j.data.ImageFolder;
import org.resnet4j.detection.CocoCategories;
import org.resnet4j.detection.Detections;
import org.resnet4j.detection.Fcos;
import org.resnet4j.tensor.Tensor;
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

    /** A fixture the core's test jar carries (its src/test/resources), copied to a file. */
    private Path coreResource(String name) throws Exception {
        Path out = dir.resolve("fixtures").resolve(name);
        Files.createDirectories(out.getParent());
        try (var in = DetectCommandTest.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) throw new java.io.FileNotFoundException(name + " is not on the test class path (resnet4j-core's test jar)");
            Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
        }
        return out;
    }

    /** tools/make_fcos_pth.py's torch.save'd fcos_resnet18_fpn, converted and run: torchvision's detections. */
    @Test
    void convertThenDetectGivesTorchvisionsDetections() throws Exception {
        SafeTensors.Contents golden = SafeTensors.read(coreResource("goldens/fcos_pth_detections.safetensors"));
        Path img = dir.resolve("drawn.png");
        ImageIO.write(ImageDecoder.toImage(golden.tensors().get("image"), 1), "png", img.toFile());
        assertEquals(0f, Tensor.maxAbsDiff(golden.tensors().get("image"), ImageFolder.decode(img, 3)), "the PNG holds the golden's bytes");
        Path st = dir.resolve("fcos.safetensors");
        Cli.Run r = Cli.run("convert", coreResource("pth/fcos_resnet18_fpn_views.pth").toString(), st.toString());
        assertEquals(0, r.code(), r.err());
        r = Cli.run("detect", "--model", "fcos_resnet18_fpn", "--weights", st.toString(), "--out", dir.resolve("out").toString(),
                "--json", img.toString());
        assertEquals(0, r.code(), r.err());
        List<?> dets = (List<?>) Cli.at(r.json(), 0, "detections");
        float[] boxes = golden.tensors().get("boxes").data(), scores = golden.tensors().get("scores").data();
        float[] labels = golden.tensors().get("labels").data();
        assertEquals(scores.length, dets.size(), "detections");
        for (int i = 0; i < dets.size(); i++) {
            Map<?, ?> d = (Map<?, ?>) dets.get(i);
            assertEquals(Math.round(labels[i]), ((Number) d.get("label")).intValue(), "label of detection " + i);
            assertEquals(CocoCategories.NAMES.get(Math.round(labels[i])), d.get("class"));
            assertEquals(scores[i], ((Number) d.get("score")).floatValue(), 3e-5f, "score of detection " + i);
            List<?> box = (List<?>) d.get("box");
            for (int k = 0; k < 4; k++) assertEquals(boxes[4 * i + k], ((Number) box.get(k)).floatValue(), 1e-3f, "box of detection " + i);
        }
    }

    @Test
    void modelsListsTheDetectorsWithTorchvisionsCounts() throws Exception {
        Map<String, String> counts = SafeTensors.read(coreResource("goldens/fcos_counts.safetensors")).metadata();
        Cli.Run r = Cli.run("models");
        assertEquals(0, r.code(), r.err());
        for (String name : Fcos.PRESETS) {
            String line = r.out().lines().filter(l -> l.startsWith(name + " ")).findFirst().orElseThrow(() -> new AssertionError(name + "\n" + r.out()));
            // the narrow preset has no torchvision counterpart: its count is worked out in NarrowFcosTest
            long want = name.equals("fcos_resnet18w32_fpn") ? 3_359_424L : Long.parseLong(counts.get(name + "/parameters_total"));
            String total = String.format("%,d", want);
            assertTrue(line.contains(" " + total + " "), "FrozenBatchNorm2d count " + total + " in: " + line);
        }
        assertTrue(r.out().contains("fcos_resnet18w32_fpn 3,364,224"), "trainable batch norm, 91 classes:\n" + r.out());
        assertTrue(r.out().contains("3x128x192"), "a 480x640 image at the narrow preset's 128 / 171, padded to 32: " + r.out());
        String scratch = String.format("fcos_resnet50_fpn %,d", Long.parseLong(counts.get("fcos_resnet50_fpn_scratch/parameters_total")));
        assertTrue(r.out().contains(scratch), "trainable batch norm: " + scratch + " in\n" + r.out());
        assertTrue(r.out().contains("3x800x1088"), "a 480x640 image as the transform resizes and pads it: " + r.out());
    }

    @Test
    void unreadableAnd16BitImagesAndAnotherModelsCheckpoint() throws Exception {
        Path w = dir.resolve("fcos.safetensors");
        Init.manualSeed(5);
        SafeTensors.write(w, Fcos.create("fcos_resnet18_fpn", 3, true).stateDict(), Map.of());
        Path noise = dir.resolve("noise.png");
        Files.write(noise, new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3, 4, 5, 6, 7});
        BufferedImage deep = new BufferedImage(64, 48, BufferedImage.TYPE_USHORT_GRAY);
        for (int y = 0; y < 48; y++) for (int x = 0; x < 64; x++) deep.getRaster().setSample(x, y, 0, (x * 1021 + y * 977) % 65536);
        Path grey16 = dir.resolve("grey16.png");
        ImageIO.write(deep, "png", grey16.toFile());

        // an unreadable file is named on stderr and counted; the others are still answered
        Cli.Run r = Cli.run("detect", "--model", "fcos_resnet18_fpn", "--weights", w.toString(), "--score-threshold", "0",
                "--detections-per-image", "3", "--out", dir.resolve("out").toString(), "--json", noise.toString(), grey16.toString());
        assertEquals(2, r.code(), "a refused file makes the exit code non-zero");
        assertTrue(r.err().contains("noise.png"), r.err());
        List<?> answered = (List<?>) r.json();
        assertEquals(1, answered.size(), "the readable image is answered");
        assertEquals(grey16.toString(), Cli.at(answered, 0, "image"));
        // 16-bit grey: each sample / 65535, repeated into R, G and B
        Tensor decoded = ImageFolder.decode(grey16, 3);
        assertEquals(3, decoded.dim(0));
        assertEquals((5 * 1021 + 7 * 977) / 65535f, decoded.data()[2 * 48 * 64 + 7 * 64 + 5], 1e-7f);
        assertEquals(3, ((List<?>) Cli.at(answered, 0, "detections")).size());

        // a segmentation checkpoint, and an FCOS one of another backbone: refused naming the file and what differs
        Path seg = coreResource("pth/deeplabv3_resnet50_expanded.pth");
        r = Cli.run("detect", "--model", "fcos_resnet18_fpn", "--weights", seg.toString(), grey16.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("deeplabv3_resnet50_expanded.pth") && r.err().contains("not an FCOS state_dict"), r.err());
        r = Cli.run("detect", "--model", "fcos_resnet50_fpn", "--weights", w.toString(), grey16.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("fcos.safetensors") && r.err().contains("backbone.body."), r.err());
    }
}
