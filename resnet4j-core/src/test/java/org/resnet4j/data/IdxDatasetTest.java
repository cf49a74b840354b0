package org.resnet4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxDatasetTest {
    @TempDir
    Path dir;

    /** Three 2x3 images with pixels 0, 10, 20, ... and labels 7, 0, 9. */
    static final int N = 3;
    static final int ROWS = 2;
    static final int COLS = 3;
    static final int[] LABELS = {7, 0, 9};

    static byte[] images(int magic, int n, int rows, int cols, int pixelCount) {
        ByteBuffer b = ByteBuffer.allocate(16 + pixelCount);
        b.putInt(magic).putInt(n).putInt(rows).putInt(cols);
        for (int i = 0; i < pixelCount; i++) b.put((byte) (i * 10));
        return b.array();
    }

    static byte[] images() {
        return images(0x00000803, N, ROWS, COLS, N * ROWS * COLS);
    }

    static byte[] labels(int... labels) {
        ByteBuffer b = ByteBuffer.allocate(8 + labels.length);
        b.putInt(0x00000801).putInt(labels.length);
        for (int l : labels) b.put((byte) l);
        return b.array();
    }

    static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(data);
        }
        return out.toByteArray();
    }

    private Path write(String name, byte[] data) throws IOException {
        Path p = dir.resolve(name);
        Files.createDirectories(p.getParent());
        Files.write(p, data);
        return p;
    }

    private static void assertContent(IdxDataset ds) {
        assertEquals(N, ds.size());
        assertEquals(1, ds.channels());
        assertEquals(ROWS, ds.height());
        assertEquals(COLS, ds.width());
        for (int i = 0; i < N; i++) {
            Example e = ds.get(i);
            assertArrayEquals(new int[] {1, ROWS, COLS}, e.image().shape());
            assertEquals(LABELS[i], e.label());
            assertEquals(LABELS[i], ds.label(i));
            float[] expected = new float[ROWS * COLS];
            for (int k = 0; k < expected.length; k++) expected[k] = (((i * ROWS * COLS + k) * 10) & 0xff) / 255f;
            assertArrayEquals(expected, e.image().data(), 0f);
        }
        // Pixel 25 of the file is 250 -> 250/255; (image 1, pixel 1) = byte 70.
        assertEquals(70 / 255f, ds.get(1).image().get(0, 0, 1), 0f);
    }

    @Test
    void rawFiles() throws IOException {
        IdxDataset ds = new IdxDataset(write("imgs", images()), write("labs", labels(LABELS)), IdxDataset.MNIST_CLASSES);
        assertContent(ds);
        assertEquals("7 - seven", ds.classes().get(ds.label(0)));
    }

    @Test
    void gzippedFilesDetectedByMagicNotName() throws IOException {
        IdxDataset ds = new IdxDataset(write("a.gz", gzip(images())), write("b-no-extension", gzip(labels(LABELS))),
                IdxDataset.FASHION_MNIST_CLASSES);
        assertContent(ds);
        assertEquals("Ankle boot", ds.classes().get(ds.label(2)));
    }

    @Test
    void loadFindsSplitFilesGzippedOrNot() throws IOException {
        write("m/t10k-images-idx3-ubyte", images());
        write("m/t10k-labels-idx1-ubyte.gz", gzip(labels(LABELS)));
        assertContent(IdxDataset.load(dir.resolve("m"), false, IdxDataset.MNIST_CLASSES));
        FileNotFoundException e = assertThrows(FileNotFoundException.class,
                () -> IdxDataset.load(dir.resolve("m"), true, IdxDataset.MNIST_CLASSES));
        assertTrue(e.getMessage().contains("train-images-idx3-ubyte.gz"), e.getMessage());
    }

    @Test
    void wrongMagicNamesFileAndNumbers() throws IOException {
        Path labelsAsImages = write("x", labels(LABELS));
        Path l = write("y", labels(LABELS));
        DatasetFormatException e = assertThrows(DatasetFormatException.class,
                () -> new IdxDataset(labelsAsImages, l, IdxDataset.MNIST_CLASSES));
        assertTrue(e.getMessage().contains(labelsAsImages.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("0x00000801"), e.getMessage());
        assertTrue(e.getMessage().contains("0x00000803"), e.getMessage());

        Path junk = write("junk", new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        e = assertThrows(DatasetFormatException.class, () -> new IdxDataset(write("i", images()), junk, IdxDataset.MNIST_CLASSES));
        assertTrue(e.getMessage().startsWith(junk.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("0x01020304"), e.getMessage());
    }

    @Test
    void truncatedFiles() throws IOException {
        byte[] img = images();
        Path cut = write("cut", Arrays.copyOf(img, img.length - 1));
        Path l = write("l", labels(LABELS));
        DatasetFormatException e = assertThrows(DatasetFormatException.class, () -> new IdxDataset(cut, l, IdxDataset.MNIST_CLASSES));
        assertTrue(e.getMessage().contains(cut.toString()) && e.getMessage().contains("truncated"), e.getMessage());
        assertTrue(e.getMessage().contains("3 images of 2x3") && e.getMessage().contains("17 bytes"), e.getMessage());

        Path header = write("header", Arrays.copyOf(img, 10));
        e = assertThrows(DatasetFormatException.class, () -> new IdxDataset(header, l, IdxDataset.MNIST_CLASSES));
        assertTrue(e.getMessage().contains("truncated header"), e.getMessage());

        byte[] gz = gzip(images());
        Path gzCut = write("cut.gz", Arrays.copyOf(gz, gz.length / 2));
        e = assertThrows(DatasetFormatException.class, () -> new IdxDataset(gzCut, l, IdxDataset.MNIST_CLASSES));
        assertTrue(e.getMessage().contains(gzCut.toString()) && e.getMessage().contains("truncated"), e.getMessage());

        Path longer = write("long", Arrays.copyOf(img, img.length + 5));
        e = assertThrows(DatasetFormatException.class, () -> new IdxDataset(longer, l, IdxDataset.MNIST_CLASSES));
        assertTrue(e.getMessage().contains("23 bytes follow"), e.getMessage());
    }

    @Test
    void countMismatchAndLabelRange() throws IOException {
        Path i = write("i", images());
        Path two = write("two", labels(1, 2));
        DatasetFormatException e = assertThrows(DatasetFormatException.class, () -> new IdxDataset(i, two, IdxDataset.MNIST_CLASSES));
        assertTrue(e.getMessage().contains("3 images") && e.getMessage().contains("2 labels"), e.getMessage());
        assertTrue(e.getMessage().contains(two.toString()), e.getMessage());

        Path bad = write("bad", labels(1, 10, 2));
        e = assertThrows(DatasetFormatException.class, () -> new IdxDataset(i, bad, IdxDataset.MNIST_CLASSES));
        assertTrue(e.getMessage().contains("label 10 of example 1") && e.getMessage().contains(bad.toString()), e.getMessage());
    }

    @Test
    void missingDatasetListsEveryPlaceAndHowToGetIt() throws IOException {
        Path none = dir.resolve("nowhere");
        Path half = dir.resolve("half");
        write("half/train-images-idx3-ubyte.gz", gzip(images()));
        FileNotFoundException e = assertThrows(FileNotFoundException.class, () -> IdxDataset.fashionMnist(true, List.of(none, half)));
        String m = e.getMessage();
        assertTrue(m.contains(none + ": no such directory"), m);
        assertTrue(m.contains(half + ": has train-images-idx3-ubyte.gz but no labels file"), m);
        assertTrue(m.contains("apt-get install dataset-fashion-mnist"), m);
        assertTrue(m.contains("RESNET4J_DATA"), m);
        assertTrue(m.contains("train-images-idx3-ubyte[.gz]"), m);

        // Once the labels are there (uncompressed name), the second directory is used.
        write("half/train-labels-idx1-ubyte", labels(LABELS));
        IdxDataset ds = IdxDataset.fashionMnist(true, List.of(none, half));
        assertContent(ds);
        assertEquals(IdxDataset.FASHION_MNIST_CLASSES, ds.classes());
    }

    @Test
    void debianFashionMnistWhenInstalled() throws IOException {
        Path debian = IdxDataset.DEBIAN_FASHION_MNIST;
        Assumptions.assumeTrue(Files.isRegularFile(debian.resolve("t10k-images-idx3-ubyte.gz")), "dataset-fashion-mnist not installed");
        IdxDataset test = IdxDataset.fashionMnist(false, List.of(debian));
        assertEquals(10_000, test.size());
        assertEquals(9, test.label(0)); // the first test image is an ankle boot
        IdxDataset train = IdxDataset.fashionMnist(true, List.of(debian));
        assertEquals(60_000, train.size());
        assertEquals(9, train.label(0));
        assertEquals(0, train.label(1)); // then a T-shirt/top
        Example e = train.get(0);
        assertArrayEquals(new int[] {1, 28, 28}, e.image().shape());
        float max = 0;
        for (float v : e.image().data()) {
            assertTrue(v >= 0 && v <= 1);
            max = Math.max(max, v);
        }
        assertEquals(1f, max, 0f); // every Fashion-MNIST image is scaled to reach 255
    }
}
