package org.resnet4j.data.dense;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.data.CorruptImageException;
import org.resnet4j.data.DatasetFormatException;

class DenseDatasetsTest {
    @TempDir
    Path dir;

    private void png(Path file, int w, int h) throws Exception {
        Files.createDirectories(file.getParent());
        BufferedImage b = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) b.setRGB(x, y, (x * 7) << 16 | (y * 5) << 8 | 40);
        ImageIO.write(b, file.toString().endsWith(".jpg") ? "jpg" : "png", file.toFile());
    }

    private Path coco(String annotations) throws Exception {
        Path f = dir.resolve("instances.json");
        Files.writeString(f, "{\"images\": [{\"id\": 7, \"file_name\": \"a.png\", \"width\": 40, \"height\": 30},"
                + " {\"id\": 9, \"file_name\": \"b.png\", \"width\": 20, \"height\": 20}],"
                + " \"categories\": [{\"id\": 18, \"name\": \"dog\"}, {\"id\": 1, \"name\": \"person\"}, {\"id\": 3, \"name\": \"car\"}],"
                + " \"annotations\": [" + annotations + "]}");
        return f;
    }

    @Test
    void cocoInstancesBecomeClippedXyxyBoxesWithContiguousLabels() throws Exception {
        png(dir.resolve("img/a.png"), 40, 30);
        png(dir.resolve("img/b.png"), 20, 20);
        Path f = coco("{\"id\": 1, \"image_id\": 7, \"category_id\": 18, \"bbox\": [2.5, 3, 10, 5], \"iscrowd\": 0},"
                + " {\"id\": 2, \"image_id\": 7, \"category_id\": 1, \"bbox\": [30, 20, 20, 20], \"iscrowd\": 1},"
                + " {\"id\": 3, \"image_id\": 7, \"category_id\": 3, \"bbox\": [45, 0, 5, 5]},"
                + " {\"id\": 4, \"image_id\": 7, \"category_id\": 3, \"bbox\": [5, 5, 0, 4]}");
        CocoDetection d = new CocoDetection(f, dir.resolve("img"));
        assertEquals(List.of("person", "car", "dog"), d.classes(), "labels in increasing category id order");
        assertEquals(2, d.size(), "an image without annotations stays, as a negative");
        DenseExample a = d.get(0);
        assertArrayEquals(new int[] {3, 30, 40}, a.image().shape());
        assertArrayEquals(new float[] {2.5f, 3, 12.5f, 8, 30, 20, 40, 30}, a.target().boxes(), "xywh to xyxy, clipped to the image");
        assertArrayEquals(new int[] {2, 0}, a.target().labels(), "dog is label 2, person 0; the boxes outside or without area are dropped");
        assertArrayEquals(new boolean[] {false, true}, a.target().crowd());
        assertEquals(2, d.problems().size(), "annotations 3 (outside) and 4 (no width) are counted: " + d.problems());
        assertTrue(d.problems().get(0).contains("annotation 3 of image 7 has bbox [45, 0, 5, 5], outside the 40x30 image"), d.problems().get(0));
        assertTrue(d.problems().get(1).contains("annotation 4 of image 7 has bbox [5, 5, 0, 4]: width and height must be positive"), d.problems().get(1));
        assertEquals(List.of(new CocoDetection.GroundTruth(18, 2.5, 3, 10, 5, 50, false), new CocoDetection.GroundTruth(1, 30, 20, 20, 20, 400, true)),
                d.groundTruth(0), "evaluation reads the boxes as written, with area w * h when the file gives none");
        assertNull(a.target().semantic());
        assertEquals(0, d.get(1).target().count());
        assertEquals(7, d.imageId(0));
        assertEquals(18, d.categoryId(2));
    }

    @Test
    void cocoErrorsNameTheAnnotationAndTheField() throws Exception {
        png(dir.resolve("img/a.png"), 40, 30);
        // usable JSON, unusable entries: skipped, each described naming the file and the annotation
        CocoDetection skipping = new CocoDetection(coco("{\"id\": 5, \"image_id\": 8, \"category_id\": 1, \"bbox\": [0, 0, 1, 1]},"
                + " {\"id\": 6, \"image_id\": 7, \"category_id\": 2, \"bbox\": [0, 0, 1, 1]},"
                + " {\"id\": 8, \"image_id\": 7, \"category_id\": 1, \"bbox\": [1, 1, 2, 2]}"), dir.resolve("img"));
        List<String> problems = skipping.problems();
        assertEquals(2, problems.size(), problems.toString());
        assertTrue(problems.get(0).contains("instances.json: annotation 5 refers to image 8"), problems.get(0));
        assertTrue(problems.get(1).contains("instances.json: annotation 6 has category_id 2"), problems.get(1));
        assertEquals(1, skipping.get(0).target().count(), "annotation 8 is kept");
        var e = assertThrows(DatasetFormatException.class, () -> new CocoDetection(
                coco("{\"id\": 7, \"image_id\": 7, \"category_id\": 1, \"bbox\": [0, 0, 1]}"), dir.resolve("img")));
        assertTrue(e.getMessage().contains("annotation 7: bbox must be [x, y, width, height]"), e.getMessage());
        Files.writeString(dir.resolve("bad.json"), "{\"images\": [");
        e = assertThrows(DatasetFormatException.class, () -> new CocoDetection(dir.resolve("bad.json"), dir));
        assertTrue(e.getMessage().contains("bad.json") && e.getMessage().contains("not valid JSON"), e.getMessage());
        // an image of another size than its annotation says, and a missing image
        png(dir.resolve("img/b.png"), 21, 20);
        CocoDetection d = new CocoDetection(coco(""), dir.resolve("img"));
        var wrongSize = assertThrows(CorruptImageException.class, () -> d.get(1));
        assertTrue(wrongSize.getMessage().contains("b.png: the image is 21x20, its annotation (image 9) says 20x20"), wrongSize.getMessage());
        Files.delete(dir.resolve("img/a.png"));
        assertThrows(CorruptImageException.class, () -> d.get(0));
    }

    private void paletteMask(Path file, int w, int h, int[] values) throws Exception {
        Files.createDirectories(file.getParent());
        byte[] r = new byte[256], g = new byte[256], b = new byte[256];
        for (int i = 0; i < 256; i++) {
            r[i] = (byte) i;
            g[i] = (byte) (255 - i);
            b[i] = (byte) (i * 7);
        }
        BufferedImage m = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(8, 256, r, g, b));
        m.getRaster().setSamples(0, 0, w, h, 0, values);
        ImageIO.write(m, "png", file.toFile());
    }

    @Test
    void vocMasksAreReadAsClassIndicesAndCheckedAgainstTheImage() throws Exception {
        Path root = dir.resolve("voc");
        Files.createDirectories(root.resolve("ImageSets/Segmentation"));
        Files.writeString(root.resolve("ImageSets/Segmentation/train.txt"), "2007_000032\n2007_000039\n\n");
        png(root.resolve("JPEGImages/2007_000032.jpg"), 6, 4);
        png(root.resolve("JPEGImages/2007_000039.jpg"), 6, 4);
        int[] values = {0, 0, 15, 15, 255, 1, 0, 0, 15, 15, 255, 1, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0, 20};
        paletteMask(root.resolve("SegmentationClass/2007_000032.png"), 6, 4, values);
        int[] bad = values.clone();
        bad[5] = 21;
        paletteMask(root.resolve("SegmentationClass/2007_000039.png"), 6, 4, bad);
        VocSegmentation voc = new VocSegmentation(root, "train");
        assertEquals(2, voc.size());
        assertEquals(21, voc.classes().size());
        DenseExample e = voc.get(0);
        assertArrayEquals(values, e.target().semantic(), "indices as written, 255 kept as the ignore value");
        assertEquals(0, e.target().count());
        var err = assertThrows(DatasetFormatException.class, () -> voc.get(1));
        assertTrue(err.getMessage().contains("2007_000039.png") && err.getMessage().contains("pixel (5, 0) has class 21"), err.getMessage());
        paletteMask(root.resolve("SegmentationClass/2007_000039.png"), 5, 4, new int[20]);
        err = assertThrows(DatasetFormatException.class, () -> voc.get(1));
        assertTrue(err.getMessage().contains("is 5x4, its image 2007_000039.jpg is 6x4"), err.getMessage());
        png(root.resolve("SegmentationClass/2007_000039.png"), 6, 4);
        err = assertThrows(DatasetFormatException.class, () -> voc.get(1));
        assertTrue(err.getMessage().contains("palette (indexed) or 8-bit grey PNG"), err.getMessage());
        BufferedImage grey = new BufferedImage(6, 4, BufferedImage.TYPE_BYTE_GRAY);
        grey.getRaster().setSamples(0, 0, 6, 4, 0, values);
        ImageIO.write(grey, "png", root.resolve("SegmentationClass/2007_000039.png").toFile());
        assertArrayEquals(values, voc.get(1).target().semantic(), "an 8-bit grey mask reads as its values, as PIL's mode L");
        err = assertThrows(DatasetFormatException.class, () -> new VocSegmentation(root, "val"));
        assertTrue(err.getMessage().contains("val.txt"), err.getMessage());
    }

    @Test
    void aVocImageOrMaskThatDoesNotDecodeIsAnErrorNamingTheFile() throws Exception {
        Path root = dir.resolve("voc");
        Files.createDirectories(root.resolve("ImageSets/Segmentation"));
        Files.writeString(root.resolve("ImageSets/Segmentation/train.txt"), "a\nb\nc\n");
        for (String id : new String[] {"a", "b", "c"}) {
            png(root.resolve("JPEGImages/" + id + ".jpg"), 6, 4);
            paletteMask(root.resolve("SegmentationClass/" + id + ".png"), 6, 4, new int[24]);
        }
        Path jpg = root.resolve("JPEGImages/a.jpg"), mask = root.resolve("SegmentationClass/b.png");
        byte[] j = Files.readAllBytes(jpg), m = Files.readAllBytes(mask);
        Files.write(jpg, java.util.Arrays.copyOf(j, j.length / 2)); // cut in the middle of the entropy-coded data
        Files.write(mask, java.util.Arrays.copyOf(m, 30));         // PNG header and part of IHDR
        Files.delete(root.resolve("SegmentationClass/c.png"));
        VocSegmentation voc = new VocSegmentation(root, "train");
        var err = assertThrows(CorruptImageException.class, () -> voc.get(0));
        assertTrue(err.getMessage().startsWith(jpg.toString()), err.getMessage());
        err = assertThrows(CorruptImageException.class, () -> voc.get(1));
        assertTrue(err.getMessage().startsWith(mask.toString()) && err.getMessage().contains("mask"), err.getMessage());
        err = assertThrows(CorruptImageException.class, () -> voc.get(2));
        assertTrue(err.getMessage().contains("c.png") && err.getMessage().contains("no such file"), err.getMessage());
    }

    @Test
    void scenesAreADenseDatasetWithTheBackgroundFirstInTheMaskClasses() {
        SceneDataset s = new SceneDataset(new org.resnet4j.data.SyntheticScenes(3, 1, 64, 4));
        assertEquals(3, s.size());
        assertEquals("background", SceneDataset.maskClasses().get(0));
        assertEquals(s.classes().size() + 1, SceneDataset.maskClasses().size());
        DenseExample e = s.get(2);
        assertTrue(e.target().count() >= 1);
        assertTrue(e.target().maxMaskClass() <= s.classes().size());
    }
}
