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
import org.resnet4j.data.Normalize;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.nn.Inference;
import org.resnet4j.nn.Init;
import org.resnet4j.segmentation.Masks;
import org.resnet4j.segmentation.SegmentationModel;
import org.resnet4j.segmentation.SegmentationModels;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.testing.Cli;

class SegmentCommandTest {
    @TempDir
    Path dir;

    @Test
    void writesTheMaskAsAPalettePngAnOverlayAndTheClassShares() throws Exception {
        Init.manualSeed(3);
        SegmentationModel m = SegmentationModels.create("fcn_resnet18", 4, true);
        Path w = dir.resolve("fcn.safetensors");
        SafeTensors.write(w, m.stateDict(), Map.of());
        BufferedImage bi = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 64; y++) for (int x = 0; x < 64; x++) bi.setRGB(x, y, (x * 4) << 16 | (y * 4) << 8 | (x * y) % 256);
        Path img = dir.resolve("square.png");
        ImageIO.write(bi, "png", img.toFile());
        Path out = dir.resolve("out");

        Cli.Run r = Cli.run("segment", "--model", "fcn_resnet18", "--weights", w.toString(), "--size", "64", "--out", out.toString(), "--json", img.toString());
        assertEquals(0, r.code(), r.err());
        List<?> classes = (List<?>) Cli.at(r.json(), 0, "classes");
        BufferedImage maskPng = ImageIO.read(out.resolve("square.mask.png").toFile());
        assertEquals(BufferedImage.TYPE_BYTE_INDEXED, maskPng.getType(), "a palette PNG");
        int[] mask = Masks.fromPaletteImage(maskPng);
        // at the model's own size, the mask is the argmax of its output for the normalised image
        Tensor x = Normalize.imagenet().apply(ImageFolder.decode(img, 3), null);
        int[] want = Masks.argmax(new Inference(m).run(x.reshape(1, 3, 64, 64)).reshape(4, 64, 64));
        assertArrayEquals(want, mask);
        double total = 0;
        for (Object o : classes) {
            Map<?, ?> c = (Map<?, ?>) o;
            int index = ((Number) c.get("index")).intValue();
            long count = java.util.Arrays.stream(mask).filter(v -> v == index).count();
            assertEquals((double) count / mask.length, ((Number) c.get("share")).doubleValue(), 1e-12, "share of class " + index);
            assertEquals("class " + index, c.get("class"), "4 classes and no --labels: numbered");
            total += ((Number) c.get("share")).doubleValue();
        }
        assertEquals(1.0, total, 1e-9);
        int[][] pal = Masks.vocPalette();
        assertEquals((pal[mask[0]][0] << 16) | (pal[mask[0]][1] << 8) | pal[mask[0]][2], maskPng.getRGB(0, 0) & 0xffffff, "VOC's colours");
        BufferedImage overlay = ImageIO.read(out.resolve("square.overlay.png").toFile());
        assertEquals(64, overlay.getWidth());

        // another size: the prediction is mapped back to the image's pixels
        ImageIO.write(new BufferedImage(90, 50, BufferedImage.TYPE_INT_RGB), "png", dir.resolve("wide.png").toFile());
        r = Cli.run("segment", "--model", "fcn_resnet18", "--weights", w.toString(), "--size", "40", "--out", out.toString(), dir.resolve("wide.png").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("(90x50, run at 72x40)"), r.out());
        BufferedImage wide = ImageIO.read(out.resolve("wide.mask.png").toFile());
        assertEquals(90, wide.getWidth());
        assertEquals(50, wide.getHeight());
    }

    @Test
    void forwardWritesOutAndAuxOfASegmenter() throws Exception {
        Init.manualSeed(5);
        SegmentationModel m = SegmentationModels.create("deeplabv3_resnet18", 3, true);
        Path w = dir.resolve("d.safetensors"), in = dir.resolve("x.safetensors"), out = dir.resolve("y.safetensors");
        SafeTensors.write(w, m.stateDict(), Map.of());
        Tensor x = Tensor.uniform(2, -1, 1, 2, 3, 37, 45);
        SafeTensors.write(in, Map.of("input", x), Map.of());
        Cli.Run r = Cli.run("forward", "--model", "deeplabv3_resnet18", "--weights", w.toString(), "--input", in.toString(), "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        Map<String, Tensor> y = SafeTensors.read(out).tensors();
        m.train(false);
        Map<String, Tensor> want = new java.util.LinkedHashMap<>();
        try (var g = org.resnet4j.autograd.GradMode.noGrad()) {
            m.forwardAll(org.resnet4j.autograd.Variable.constant(x)).forEach((k, v) -> want.put(k, v.value()));
        }
        assertArrayEquals(new int[] {2, 3, 37, 45}, y.get("out").shape(), "at the input's size");
        assertArrayEquals(want.get("out").data(), y.get("out").data());
        assertArrayEquals(want.get("aux").data(), y.get("aux").data());
        assertArrayEquals(y.get("out").data(), y.get("output").data());
    }

    @Test
    void aClassifierCheckpointOrUnknownModelIsAClearError() throws Exception {
        Path w = dir.resolve("r18.safetensors");
        assertEquals(0, Cli.run("init", "--model", "resnet18", "--output", w.toString()).code());
        Path img = dir.resolve("a.png");
        ImageIO.write(new BufferedImage(20, 20, BufferedImage.TYPE_INT_RGB), "png", img.toFile());
        Cli.Run r = Cli.run("segment", "--model", "fcn_resnet18", "--weights", w.toString(), img.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("r18.safetensors") && r.err().contains("classifier.4.weight"), r.err());
        r = Cli.run("segment", "--model", "fcn_resnet7", "--weights", w.toString(), img.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("fcn_resnet7") && r.err().contains("deeplabv3_resnet50"), r.err());
    }

    @Test
    void modelsListsTheSegmentersWithTorchvisionsCounts() {
        Cli.Run r = Cli.run("models");
        assertEquals(0, r.code(), r.err());
        for (String name : SegmentationModels.all().keySet()) assertTrue(r.out().contains(name + " "), name);
        long fcn = SegmentationModels.get("fcn_resnet50").createMeta(new SegmentationModels.Config(21, true, 3)).parameterCount();
        assertTrue(r.out().contains(String.format("%,d", fcn)), r.out());
    }

    @Test
    void anImageThatDoesNotDecodeIsReportedByNameAndTheOthersAreStillSegmented() throws Exception {
        Init.manualSeed(4);
        Path w = dir.resolve("fcn.safetensors"), out = dir.resolve("out");
        SafeTensors.write(w, SegmentationModels.create("fcn_resnet18", 3, false).stateDict(), Map.of());
        Path good = dir.resolve("good.png"), cut = dir.resolve("cut.png");
        BufferedImage noise = new BufferedImage(24, 24, BufferedImage.TYPE_INT_RGB);
        java.util.SplittableRandom rng = new java.util.SplittableRandom(1);
        for (int y = 0; y < 24; y++) for (int x = 0; x < 24; x++) noise.setRGB(x, y, rng.nextInt(1 << 24));
        ImageIO.write(noise, "png", good.toFile());
        byte[] png = java.nio.file.Files.readAllBytes(good);
        java.nio.file.Files.write(cut, java.util.Arrays.copyOf(png, png.length / 2)); // cut in the middle of the pixel data
        Cli.Run r = Cli.run("segment", "--model", "fcn_resnet18", "--weights", w.toString(), "--size", "24", "--out", out.toString(),
                cut.toString(), good.toString());
        assertEquals(2, r.code(), "a failed image makes the exit status 2");
        assertTrue(r.err().startsWith("error: " + cut), r.err());
        assertTrue(java.nio.file.Files.isRegularFile(out.resolve("good.overlay.png")), r.out());
        assertTrue(!java.nio.file.Files.exists(out.resolve("cut.overlay.png")));
    }

    /** A VOC-layout folder of 6x4 images: ids a and b in train, a in val; b's mask as given. */
    private Path voc(int maskWidth, int badClass) throws Exception {
        Path root = dir.resolve("voc-" + maskWidth + "-" + badClass);
        java.nio.file.Files.createDirectories(root.resolve("ImageSets/Segmentation"));
        java.nio.file.Files.createDirectories(root.resolve("JPEGImages"));
        java.nio.file.Files.createDirectories(root.resolve("SegmentationClass"));
        java.nio.file.Files.writeString(root.resolve("ImageSets/Segmentation/train.txt"), "a\nb\n");
        java.nio.file.Files.writeString(root.resolve("ImageSets/Segmentation/val.txt"), "a\n");
        for (String id : new String[] {"a", "b"}) {
            ImageIO.write(new BufferedImage(6, 4, BufferedImage.TYPE_INT_RGB), "jpg", root.resolve("JPEGImages/" + id + ".jpg").toFile());
            int width = id.equals("b") ? maskWidth : 6;
            int[] v = new int[width * 4];
            if (id.equals("b")) v[3] = badClass;
            BufferedImage m = Masks.toPaletteImage(v, 4, width);
            ImageIO.write(m, "png", root.resolve("SegmentationClass/" + id + ".png").toFile());
        }
        return root;
    }

    @Test
    void trainingOnAVocFolderWithABadMaskStopsWithTheFileAndTheFault() throws Exception {
        String[] args = {"train", "--task", "segmentation", "--model", "fcn_resnet18", "--image-size", "32", "--epochs", "1",
                "--batch-size", "2", "--threads", "1", "--runs-dir", dir.resolve("runs").toString(), "--data"};
        Path root = voc(5, 0);
        Cli.Run r = Cli.run(concat(args, "voc:" + root));
        assertEquals(2, r.code(), r.out());
        assertTrue(r.err().startsWith("error: " + root.resolve("SegmentationClass/b.png") + " is 5x4, its image b.jpg is 6x4"), r.err());
        root = voc(6, 21);
        r = Cli.run(concat(args, "voc:" + root));
        assertEquals(2, r.code(), r.out());
        assertTrue(r.err().startsWith("error: " + root.resolve("SegmentationClass/b.png") + ": pixel (3, 0) has class 21, past the 21 classes"),
                r.err());
        root = voc(6, 255); // VOC's boundary value is ignored, not refused
        r = Cli.run(concat(args, "voc:" + root));
        assertEquals(0, r.code(), r.err());
    }

    private static String[] concat(String[] a, String last) {
        String[] r = java.util.Arrays.copyOf(a, a.length + 1);
        r[a.length] = last;
        return r;
    }
}
