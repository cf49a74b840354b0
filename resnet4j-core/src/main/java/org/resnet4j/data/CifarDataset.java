package org.resnet4j.data;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.resnet4j.tensor.Tensor;

/**
 * CIFAR-10 and CIFAR-100, binary version (https://www.cs.toronto.edu/~kriz/cifar.html), the data
 * of torchvision.datasets.CIFAR10 / CIFAR100 (which read the Python pickles instead).
 *
 * <p>A record is the label byte(s) then 3072 pixel bytes: the 1024 red values of the 32x32
 * image row by row, then green, then blue, i.e. already CHW. CIFAR-10 records have one label byte
 * (files {@code data_batch_1.bin} .. {@code data_batch_5.bin}, {@code test_batch.bin}); CIFAR-100
 * records have two, coarse then fine ({@code train.bin}, {@code test.bin}); the fine label is the
 * class, as torchvision's CIFAR100. Class names come from {@code batches.meta.txt} /
 * {@code fine_label_names.txt} beside the data when present, else the standard lists.
 */
public final class CifarDataset implements Dataset {
    /** torchvision.datasets.CIFAR10.classes (= batches.meta.txt). */
    public static final List<String> CIFAR10_CLASSES = List.of("airplane", "automobile", "bird", "cat", "deer",
            "dog", "frog", "horse", "ship", "truck");
    /** torchvision.datasets.CIFAR100.classes (= fine_label_names.txt). */
    public static final List<String> CIFAR100_CLASSES = List.of("apple", "aquarium_fish", "baby", "bear", "beaver",
            "bed", "bee", "beetle", "bicycle", "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can",
            "castle", "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab",
            "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster",
            "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man",
            "maple_tree", "motorcycle", "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter",
            "palm_tree", "pear", "pickup_truck", "pine_tree", "plain", "plate", "poppy", "porcupine", "possum",
            "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk",
            "skyscraper", "snail", "snake", "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table",
            "tank", "telephone", "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe",
            "whale", "willow_tree", "wolf", "woman", "worm");

    static final int SIDE = 32;
    static final int PIXELS = 3 * SIDE * SIDE;
    private static final int CIFAR100_COARSE = 20;

    private final List<Path> files;
    private final byte[] records;
    private final int recordBytes;
    private final int labelBytes;
    private final int count;
    private final List<String> classes;

    private CifarDataset(List<Path> files, int labelBytes, List<String> classes) throws IOException {
        this.files = List.copyOf(files);
        this.labelBytes = labelBytes;
        this.recordBytes = labelBytes + PIXELS;
        this.classes = List.copyOf(classes);
        long total = 0;
        for (Path f : files) {
            long n = Files.size(f);
            if (n == 0 || n % recordBytes != 0) {
                throw new DatasetFormatException(f + ": " + n + " bytes is not a whole number of " + recordBytes
                        + "-byte records (" + labelBytes + " label byte" + (labelBytes > 1 ? "s" : "")
                        + " + 3072 pixels); the file is truncated or not a CIFAR-" + (labelBytes == 1 ? "10" : "100")
                        + " binary batch");
            }
            total += n;
        }
        if (total > Integer.MAX_VALUE - 16) throw new DatasetFormatException("CIFAR files " + files + " are too large");
        this.records = new byte[(int) total];
        int off = 0;
        for (Path f : files) {
            try (InputStream in = Files.newInputStream(f)) {
                int n = (int) Files.size(f);
                int read = in.readNBytes(records, off, n);
                if (read != n) throw new DatasetFormatException(f + ": changed size while being read");
                off += n;
            }
        }
        this.count = (int) (total / recordBytes);
        // Labels are checked now so that a bad byte surfaces at load time, naming its file.
        int perFileStart = 0;
        for (Path f : files) {
            int inFile = (int) (Files.size(f) / recordBytes);
            for (int r = 0; r < inFile; r++) {
                int base = (perFileStart + r) * recordBytes;
                if (labelBytes == 2 && (records[base] & 0xff) >= CIFAR100_COARSE) {
                    throw new DatasetFormatException(f + ": coarse label " + (records[base] & 0xff) + " of record " + r
                            + " is out of range for " + CIFAR100_COARSE + " superclasses");
                }
                int label = records[base + labelBytes - 1] & 0xff;
                if (label >= this.classes.size()) {
                    throw new DatasetFormatException(f + ": label " + label + " of record " + r + " is out of range for "
                            + this.classes.size() + " classes");
                }
            }
            perFileStart += inFile;
        }
    }

    /**
     * CIFAR-10 from {@code dir}: the folder holding the .bin files, or its parent holding
     * {@code cifar-10-batches-bin} (the layout of cifar-10-binary.tar.gz).
     */
    public static CifarDataset cifar10(Path dir, boolean train) throws IOException {
        Path d = resolve(dir, "cifar-10-batches-bin");
        List<String> names = new ArrayList<>();
        if (train) {
            for (int i = 1; i <= 5; i++) names.add("data_batch_" + i + ".bin");
        } else {
            names.add("test_batch.bin");
        }
        List<Path> files = existing(d, names, "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz");
        return new CifarDataset(files, 1, classNames(d.resolve("batches.meta.txt"), CIFAR10_CLASSES));
    }

    /**
     * CIFAR-100 from {@code dir}: the folder holding train.bin / test.bin, or its parent holding
     * {@code cifar-100-binary}. Labels are the 100 fine classes.
     */
    public static CifarDataset cifar100(Path dir, boolean train) throws IOException {
        Path d = resolve(dir, "cifar-100-binary");
        List<Path> files = existing(d, List.of(train ? "train.bin" : "test.bin"),
                "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz");
        return new CifarDataset(files, 2, classNames(d.resolve("fine_label_names.txt"), CIFAR100_CLASSES));
    }

    private static Path resolve(Path dir, String sub) {
        Path nested = dir.resolve(sub);
        return Files.isDirectory(nested) ? nested : dir;
    }

    private static List<Path> existing(Path dir, List<String> names, String url) throws FileNotFoundException {
        List<Path> files = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (String n : names) {
            Path p = dir.resolve(n);
            if (Files.isRegularFile(p)) files.add(p);
            else missing.add(n);
        }
        if (!missing.isEmpty()) {
            throw new FileNotFoundException("missing " + String.join(", ", missing) + " in " + dir
                    + "; get the binary version from " + url + " and unpack it there");
        }
        return files;
    }

    /** Non-blank lines of {@code file} (the .txt files end with blank lines), or the fallback when absent. */
    private static List<String> classNames(Path file, List<String> fallback) throws IOException {
        if (!Files.isRegularFile(file)) return fallback;
        List<String> names = new ArrayList<>();
        for (String line : Files.readAllLines(file, UTF_8)) {
            if (!line.isBlank()) names.add(line.strip());
        }
        if (names.size() != fallback.size()) {
            throw new DatasetFormatException(file + " names " + names.size() + " classes, expected " + fallback.size());
        }
        return names;
    }

    @Override
    public int size() {
        return count;
    }

    @Override
    public Example get(int index) {
        Objects.checkIndex(index, count);
        int base = index * recordBytes;
        float[] px = new float[PIXELS];
        for (int k = 0; k < PIXELS; k++) px[k] = (records[base + labelBytes + k] & 0xff) / 255f;
        return new Example(Tensor.of(px, 3, SIDE, SIDE), records[base + labelBytes - 1] & 0xff);
    }

    @Override
    public int label(int index) {
        Objects.checkIndex(index, count);
        return records[index * recordBytes + labelBytes - 1] & 0xff;
    }

    /** CIFAR-100's superclass (0..19) of example {@code index}. */
    public int coarseLabel(int index) {
        if (labelBytes != 2) throw new IllegalStateException("coarse labels exist only in CIFAR-100; this is CIFAR-10");
        Objects.checkIndex(index, count);
        return records[index * recordBytes] & 0xff;
    }

    @Override
    public List<String> classes() {
        return classes;
    }

    @Override
    public int channels() {
        return 3;
    }

    @Override
    public int height() {
        return SIDE;
    }

    @Override
    public int width() {
        return SIDE;
    }

    public List<Path> files() {
        return files;
    }

    @Override
    public String toString() {
        return "CifarDataset(" + count + " x 3x32x32, " + classes.size() + " classes, " + files + ")";
    }
}
