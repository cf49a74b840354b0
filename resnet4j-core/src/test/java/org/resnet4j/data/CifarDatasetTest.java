package org.resnet4j.data;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.tensor.Tensor;

class CifarDatasetTest {
    @TempDir
    Path dir;

    /** Pixel k of the record with global id g: a pattern that differs between records and channels. */
    static int pixel(int g, int k) {
        return (g * 31 + k * 7 + (k / 1024) * 50) & 0xff;
    }

    /** Records for global ids [first, first + n), each with the given label bytes. */
    static byte[] records(int first, int n, int[][] labels) {
        int lb = labels[0].length;
        byte[] out = new byte[n * (lb + 3072)];
        for (int r = 0; r < n; r++) {
            int base = r * (lb + 3072);
            for (int j = 0; j < lb; j++) out[base + j] = (byte) labels[r][j];
            for (int k = 0; k < 3072; k++) out[base + lb + k] = (byte) pixel(first + r, k);
        }
        return out;
    }

    private void write(Path p, byte[] data) throws IOException {
        Files.createDirectories(p.getParent());
        Files.write(p, data);
    }

    private Path cifar10Layout() throws IOException {
        Path bin = dir.resolve("cifar-10-batches-bin");
        for (int b = 0; b < 5; b++) {
            write(bin.resolve("data_batch_" + (b + 1) + ".bin"), records(2 * b, 2, new int[][] {{(2 * b) % 10}, {(2 * b + 1) % 10}}));
        }
        write(bin.resolve("test_batch.bin"), records(100, 3, new int[][] {{3}, {8}, {0}}));
        return bin;
    }

    static void assertPixels(Tensor img, int g) {
        assertArrayEquals(new int[] {3, 32, 32}, img.shape());
        float[] d = img.data();
        for (int k = 0; k < 3072; k++) assertEquals(pixel(g, k) / 255f, d[k], 0f, "pixel " + k);
    }

    @Test
    void cifar10TrainAndTestFromParentOrBinFolder() throws IOException {
        Path bin = cifar10Layout();
        CifarDataset train = CifarDataset.cifar10(dir, true); // parent folder: finds cifar-10-batches-bin
        assertEquals(10, train.size());
        assertEquals(CifarDataset.CIFAR10_CLASSES, train.classes());
        for (int i = 0; i < 10; i++) {
            Example e = train.get(i);
            assertEquals(i, e.label()); // batches are read in order 1..5
            assertEquals(i, train.label(i));
            assertPixels(e.image(), i);
        }
        // R, G and B planes in CHW order: (c=1, y=0, x=0) is byte 1024 of the record.
        assertEquals(pixel(4, 1024) / 255f, train.get(4).image().get(1, 0, 0), 0f);
        assertEquals(pixel(4, 2048 + 32 * 5 + 6) / 255f, train.get(4).image().get(2, 5, 6), 0f);

        CifarDataset test = CifarDataset.cifar10(bin, false);
        assertEquals(3, test.size());
        assertEquals(8, test.get(1).label());
        assertEquals("ship", test.classes().get(test.get(1).label()));
        assertPixels(test.get(2).image(), 102);
    }

    @Test
    void cifar10ClassNamesFromMetaFile() throws IOException {
        Path bin = cifar10Layout();
        List<String> names = List.of("a", "b", "c", "d", "e", "f", "g", "h", "i", "j");
        Files.writeString(bin.resolve("batches.meta.txt"), String.join("\n", names) + "\n\n", UTF_8);
        assertEquals(names, CifarDataset.cifar10(bin, false).classes());
        Files.writeString(bin.resolve("batches.meta.txt"), "only\ntwo\n", UTF_8);
        DatasetFormatException e = assertThrows(DatasetFormatException.class, () -> CifarDataset.cifar10(bin, false));
        assertTrue(e.getMessage().contains("batches.meta.txt") && e.getMessage().contains("2 classes"), e.getMessage());
    }

    @Test
    void cifar100UsesFineLabels() throws IOException {
        Path bin = dir.resolve("cifar-100-binary");
        write(bin.resolve("train.bin"), records(0, 3, new int[][] {{4, 99}, {19, 0}, {0, 57}}));
        CifarDataset ds = CifarDataset.cifar100(dir, true);
        assertEquals(3, ds.size());
        assertEquals(100, ds.numClasses());
        assertEquals("apple", ds.classes().get(0));
        assertEquals("worm", ds.classes().get(99));
        assertEquals(99, ds.get(0).label());
        assertEquals(0, ds.get(1).label());
        assertEquals(57, ds.label(2));
        assertEquals(19, ds.coarseLabel(1));
        assertPixels(ds.get(2).image(), 2);

        String[] fine = new String[100];
        for (int i = 0; i < 100; i++) fine[i] = "class" + i;
        Files.writeString(bin.resolve("fine_label_names.txt"), String.join("\n", fine) + "\n", UTF_8);
        assertEquals(Arrays.asList(fine), CifarDataset.cifar100(bin, true).classes());
    }

    @Test
    void errorsNameTheFile() throws IOException {
        Path bin = cifar10Layout();
        Path b3 = bin.resolve("data_batch_3.bin");
        byte[] full = Files.readAllBytes(b3);
        Files.write(b3, Arrays.copyOf(full, full.length - 100));
        DatasetFormatException e = assertThrows(DatasetFormatException.class, () -> CifarDataset.cifar10(bin, true));
        assertTrue(e.getMessage().contains(b3.toString()) && e.getMessage().contains("3073-byte records"), e.getMessage());

        Files.delete(b3);
        FileNotFoundException missing = assertThrows(FileNotFoundException.class, () -> CifarDataset.cifar10(bin, true));
        assertTrue(missing.getMessage().contains("data_batch_3.bin") && missing.getMessage().contains("cifar-10-binary.tar.gz"),
                missing.getMessage());

        write(bin.resolve("test_batch.bin"), records(0, 2, new int[][] {{1}, {10}}));
        e = assertThrows(DatasetFormatException.class, () -> CifarDataset.cifar10(bin, false));
        assertTrue(e.getMessage().contains("label 10 of record 1"), e.getMessage());

        Path c100 = dir.resolve("c100");
        write(c100.resolve("test.bin"), records(0, 1, new int[][] {{20, 3}}));
        e = assertThrows(DatasetFormatException.class, () -> CifarDataset.cifar100(c100, false));
        assertTrue(e.getMessage().contains("coarse label 20"), e.getMessage());
    }
}
