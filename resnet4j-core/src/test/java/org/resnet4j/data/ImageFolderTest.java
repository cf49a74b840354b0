package org.resnet4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.tensor.Tensor;

class ImageFolderTest {
    @TempDir
    Path root;

    /** RGB of pixel (x, y) of the test images. */
    static int rgb(int x, int y) {
        return ((x * 40 + 10) << 16) | ((y * 50 + 5) << 8) | ((x * y * 9 + 3) & 0xff);
    }

    private Path save(BufferedImage img, String format, String rel) throws IOException {
        Path p = root.resolve(rel);
        Files.createDirectories(p.getParent());
        assertTrue(ImageIO.write(img, format, p.toFile()), "no ImageIO writer for " + format);
        return p;
    }

    static BufferedImage rgbImage(int w, int h, int type) {
        BufferedImage img = new BufferedImage(w, h, type);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) img.setRGB(x, y, 0xff000000 | rgb(x, y));
        }
        return img;
    }

    static void assertRgb(Tensor t, int w, int h) {
        assertArrayEquals(new int[] {3, h, w}, t.shape());
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int c = rgb(x, y);
                assertEquals(((c >> 16) & 0xff) / 255f, t.get(0, y, x), 0f);
                assertEquals(((c >> 8) & 0xff) / 255f, t.get(1, y, x), 0f);
                assertEquals((c & 0xff) / 255f, t.get(2, y, x), 0f);
            }
        }
    }

    @BeforeEach
    void layout() throws IOException {
        save(rgbImage(4, 3, BufferedImage.TYPE_INT_RGB), "png", "cat/a.png");
        BufferedImage flat = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 16; y++) for (int x = 0; x < 16; x++) flat.setRGB(x, y, 0xc06020);
        save(flat, "jpeg", "cat/b.JPG");
        save(rgbImage(5, 2, BufferedImage.TYPE_3BYTE_BGR), "bmp", "dog/c.bmp");
        BufferedImage gray = new BufferedImage(3, 2, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 2; y++) for (int x = 0; x < 3; x++) gray.getRaster().setSample(x, y, 0, 100 + 50 * x + y);
        save(gray, "png", "dog/sub/d.png");
        byte[] r = {0, (byte) 255, 12};
        byte[] g = {0, 0, (byte) 200};
        byte[] b = {0, 0, 77};
        BufferedImage indexed = new BufferedImage(3, 1, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(2, 3, r, g, b));
        for (int x = 0; x < 3; x++) indexed.getRaster().setSample(x, 0, 0, x);
        save(indexed, "gif", "dog/e.gif");
        BufferedImage argb = rgbImage(2, 2, BufferedImage.TYPE_INT_ARGB);
        argb.setRGB(1, 1, 0x10000000 | rgb(1, 1)); // nearly transparent: alpha is dropped, not composited
        save(argb, "png", "dog/f.png");
        byte[] junk = new byte[300];
        new SplittableRandom(5).nextBytes(junk);
        Files.write(root.resolve("dog/broken.jpg"), junk);
        Files.writeString(root.resolve("dog/notes.txt"), "not an image");
    }

    @Test
    void classesFilesAndDecoding() throws IOException {
        ImageFolder ds = new ImageFolder(root);
        assertEquals(List.of("cat", "dog"), ds.classes());
        List<String> names = new ArrayList<>();
        for (int i = 0; i < ds.size(); i++) names.add(root.relativize(ds.file(i)).toString().replace('\\', '/'));
        // torchvision's make_dataset order: class by class, directories sorted, then file names.
        assertEquals(List.of("cat/a.png", "cat/b.JPG", "dog/broken.jpg", "dog/c.bmp", "dog/e.gif", "dog/f.png", "dog/sub/d.png"), names);
        assertEquals(List.of(0, 0, 1, 1, 1, 1, 1), List.of(ds.label(0), ds.label(1), ds.label(2), ds.label(3), ds.label(4), ds.label(5), ds.label(6)));
        assertEquals(3, ds.channels());
        assertEquals(-1, ds.height());

        Example png = ds.get(0);
        assertEquals(0, png.label());
        assertRgb(png.image(), 4, 3);
        assertRgb(ds.get(3).image(), 5, 2); // BMP, 24-bit BGR on disk

        Tensor jpeg = ds.get(1).image(); // lossy: a flat colour comes back within a few levels
        assertArrayEquals(new int[] {3, 16, 16}, jpeg.shape());
        assertEquals(0xc0 / 255f, jpeg.get(0, 8, 8), 6 / 255f);
        assertEquals(0x60 / 255f, jpeg.get(1, 8, 8), 6 / 255f);
        assertEquals(0x20 / 255f, jpeg.get(2, 8, 8), 6 / 255f);

        Tensor gif = ds.get(4).image(); // palette looked up
        assertArrayEquals(new float[] {0, 1, 12 / 255f, 0, 0, 200 / 255f, 0, 0, 77 / 255f}, gif.data(), 0f);

        Tensor argb = ds.get(5).image();
        assertRgb(argb, 2, 2);

        Tensor gray = ds.get(6).image(); // gray copied to R, G and B without any gamma change
        assertArrayEquals(new int[] {3, 2, 3}, gray.shape());
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 2; y++) {
                for (int x = 0; x < 3; x++) assertEquals((100 + 50 * x + y) / 255f, gray.get(c, y, x), 0f);
            }
        }

        CorruptImageException e = assertThrows(CorruptImageException.class, () -> ds.get(2));
        assertTrue(e.getMessage().contains("broken.jpg"), e.getMessage());
        assertEquals(ds.file(2), e.file());
    }

    @Test
    void loaderSkipsAndCountsTheCorruptFile() throws IOException {
        ImageFolder ds = new ImageFolder(root);
        List<CorruptImageException> reports = new ArrayList<>();
        Transform resize = new Resize(6, 6);
        try (DataLoader loader = new DataLoader(ds, resize, 2, true, 3, 2, 1, false).onSkip(reports::add)) {
            for (int epoch = 0; epoch < 2; epoch++) {
                List<Integer> sizes = new ArrayList<>();
                int[] perClass = new int[2];
                for (Batch b : loader.epoch(epoch)) {
                    assertArrayEquals(new int[] {b.size(), 3, 6, 6}, b.images().shape());
                    sizes.add(b.size());
                    for (int l : b.labels()) perClass[l]++;
                }
                assertEquals(List.of(2, 2, 2), sizes); // 6 readable images in full batches
                assertArrayEquals(new int[] {2, 4}, perClass);
                assertEquals(epoch + 1, loader.skipped());
            }
        }
        assertEquals(1, reports.size()); // reported once, though skipped in both epochs
        assertTrue(reports.get(0).getMessage().contains("broken.jpg"));
    }

    @Test
    void emptyClassOrRootIsAnError() throws IOException {
        Files.createDirectories(root.resolve("empty"));
        FileNotFoundException e = assertThrows(FileNotFoundException.class, () -> new ImageFolder(root));
        assertTrue(e.getMessage().contains("empty") && e.getMessage().contains("png"), e.getMessage());
        Path bare = Files.createDirectories(root.resolve("empty/bare"));
        assertThrows(FileNotFoundException.class, () -> new ImageFolder(bare));
    }
}
