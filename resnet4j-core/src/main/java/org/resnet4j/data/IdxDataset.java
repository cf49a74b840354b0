package org.resnet4j.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;
import org.resnet4j.tensor.Tensor;

/**
 * MNIST-format datasets (torchvision.datasets.MNIST / FashionMNIST): an IDX image file
 * ({@code idx3-ubyte}: magic 0x00000803, then count, rows, columns as big-endian int32, then
 * count x rows x columns unsigned bytes) and an IDX label file ({@code idx1-ubyte}: magic
 * 0x00000801, count, then count bytes), each optionally gzipped. Compression is detected from the
 * gzip magic bytes (1f 8b), not the file name, so a renamed file still loads.
 *
 * <p>Both files are read into memory once (Fashion-MNIST's training images are 47 MB); examples
 * are [1, rows, cols] floats, byte / 255 as {@code ToTensor}. Every claim of the header is checked
 * against the file before it is used, and each defect is a {@link DatasetFormatException} naming
 * the file.
 */
public final class IdxDataset implements Dataset {
    /** torchvision.datasets.FashionMNIST.classes. */
    public static final List<String> FASHION_MNIST_CLASSES = List.of("T-shirt/top", "Trouser", "Pullover",
            "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");
    /** torchvision.datasets.MNIST.classes. */
    public static final List<String> MNIST_CLASSES = List.of("0 - zero", "1 - one", "2 - two", "3 - three",
            "4 - four", "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine");

    /** The environment variable naming a directory of datasets (one sub-folder per dataset). */
    public static final String DATA_ENV = "RESNET4J_DATA";
    /** Where Debian's {@code dataset-fashion-mnist} package installs the four gzipped files. */
    public static final Path DEBIAN_FASHION_MNIST = Path.of("/usr/share/datasets/fashion-mnist");

    static final int IMAGES_MAGIC = 0x00000803;
    static final int LABELS_MAGIC = 0x00000801;

    private final Path imagesFile;
    private final Path labelsFile;
    private final byte[] images;
    private final int imagesOffset;
    private final byte[] labels;
    private final int labelsOffset;
    private final int count;
    private final int rows;
    private final int cols;
    private final List<String> classes;

    /**
     * Loads an image file and a label file.
     *
     * @param classes class names; every label must be below {@code classes.size()}
     */
    public IdxDataset(Path imagesFile, Path labelsFile, List<String> classes) throws IOException {
        this.imagesFile = Objects.requireNonNull(imagesFile, "imagesFile");
        this.labelsFile = Objects.requireNonNull(labelsFile, "labelsFile");
        this.classes = List.copyOf(classes);
        if (this.classes.isEmpty()) throw new IllegalArgumentException("classes must not be empty");
        this.images = readMaybeGzipped(imagesFile);
        int[] imgDims = header(images, imagesFile, IMAGES_MAGIC, "image");
        this.imagesOffset = 4 + 4 * imgDims.length;
        this.count = imgDims[0];
        this.rows = imgDims[1];
        this.cols = imgDims[2];
        if (rows < 1 || cols < 1) {
            throw new DatasetFormatException(imagesFile + ": images of " + rows + "x" + cols + " pixels");
        }
        checkLength(images, imagesOffset, (long) count * rows * cols, imagesFile,
                count + " images of " + rows + "x" + cols + " pixels");
        this.labels = readMaybeGzipped(labelsFile);
        int[] labDims = header(labels, labelsFile, LABELS_MAGIC, "label");
        this.labelsOffset = 4 + 4 * labDims.length;
        checkLength(labels, labelsOffset, labDims[0], labelsFile, labDims[0] + " labels");
        if (labDims[0] != count) {
            throw new DatasetFormatException(imagesFile + " has " + count + " images but " + labelsFile + " has "
                    + labDims[0] + " labels; they must describe the same examples");
        }
        for (int i = 0; i < count; i++) {
            int label = labels[labelsOffset + i] & 0xff;
            if (label >= this.classes.size()) {
                throw new DatasetFormatException(labelsFile + ": label " + label + " of example " + i
                        + " is out of range for " + this.classes.size() + " classes");
            }
        }
    }

    /** MNIST or Fashion-MNIST's {@code train-*} or {@code t10k-*} files in {@code dir}, gzipped or not. */
    public static IdxDataset load(Path dir, boolean train, List<String> classes) throws IOException {
        Path images = find(dir, imageNames(train));
        Path labels = find(dir, labelNames(train));
        if (images == null || labels == null) {
            throw new FileNotFoundException("no " + split(train) + " " + (images == null ? "images" : "labels")
                    + " in " + dir + ": looked for " + String.join(", ", images == null ? imageNames(train) : labelNames(train)));
        }
        return new IdxDataset(images, labels, classes);
    }

    /**
     * Fashion-MNIST (Xiao et al. 2017), looked for in {@code $RESNET4J_DATA/fashion-mnist}, then
     * {@code $RESNET4J_DATA/FashionMNIST/raw} (where torchvision's {@code download=True} puts it), then
     * {@link #DEBIAN_FASHION_MNIST}.
     *
     * @throws FileNotFoundException listing every place it looked and how to get the data
     */
    public static IdxDataset fashionMnist(boolean train) throws IOException {
        String env = System.getenv(DATA_ENV);
        List<Path> dirs = new ArrayList<>();
        String note = null;
        if (env != null && !env.isBlank()) {
            dirs.add(Path.of(env, "fashion-mnist"));
            dirs.add(Path.of(env, "FashionMNIST", "raw"));
        } else {
            note = "$" + DATA_ENV + "/fashion-mnist: " + DATA_ENV + " is not set";
        }
        dirs.add(DEBIAN_FASHION_MNIST);
        return search("Fashion-MNIST", train, dirs, note, FASHION_MNIST_CLASSES);
    }

    /** Fashion-MNIST from the first of {@code dirs} that holds both files of the split. */
    public static IdxDataset fashionMnist(boolean train, List<Path> dirs) throws IOException {
        return search("Fashion-MNIST", train, dirs, null, FASHION_MNIST_CLASSES);
    }

    private static IdxDataset search(String name, boolean train, List<Path> dirs, String note, List<String> classes)
            throws IOException {
        StringBuilder looked = new StringBuilder();
        if (note != null) looked.append("\n  ").append(note);
        for (Path dir : dirs) {
            Path images = find(dir, imageNames(train));
            Path labels = find(dir, labelNames(train));
            if (images != null && labels != null) return new IdxDataset(images, labels, classes);
            looked.append("\n  ").append(dir).append(": ");
            if (!Files.isDirectory(dir)) {
                looked.append("no such directory");
            } else if (images == null && labels == null) {
                looked.append("neither file");
            } else {
                looked.append("has ").append(images != null ? images.getFileName() : labels.getFileName())
                        .append(" but no ").append(images != null ? "labels" : "images").append(" file");
            }
        }
        throw new FileNotFoundException(name + " (" + split(train) + " split) not found. Looked for "
                + imageNames(train).get(1) + "[.gz] and " + labelNames(train).get(1) + "[.gz] in:" + looked
                + "\nTo get it: `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu; installs to "
                + DEBIAN_FASHION_MNIST + "), or download the four files from"
                + " https://github.com/zalandoresearch/fashion-mnist into a folder <dir>/fashion-mnist and set "
                + DATA_ENV + "=<dir>.");
    }

    private static String split(boolean train) {
        return train ? "train" : "test";
    }

    /** Accepted names, preferred first: the distributed gzip name, its gunzipped form, and the dotted variant some mirrors use. */
    static List<String> imageNames(boolean train) {
        String p = train ? "train" : "t10k";
        return List.of(p + "-images-idx3-ubyte.gz", p + "-images-idx3-ubyte", p + "-images.idx3-ubyte");
    }

    static List<String> labelNames(boolean train) {
        String p = train ? "train" : "t10k";
        return List.of(p + "-labels-idx1-ubyte.gz", p + "-labels-idx1-ubyte", p + "-labels.idx1-ubyte");
    }

    private static Path find(Path dir, List<String> names) {
        for (String n : names) {
            Path p = dir.resolve(n);
            if (Files.isRegularFile(p)) return p;
        }
        return null;
    }

    /** The file's bytes, gunzipped when it starts with the gzip magic 1f 8b (an IDX file starts with 00 00). */
    static byte[] readMaybeGzipped(Path file) throws IOException {
        InputStream raw;
        try {
            raw = Files.newInputStream(file);
        } catch (NoSuchFileException e) {
            throw new FileNotFoundException(file + " does not exist");
        }
        try (InputStream in = new BufferedInputStream(raw, 1 << 16)) {
            in.mark(2);
            int b0 = in.read();
            int b1 = in.read();
            in.reset();
            if (b0 != 0x1f || b1 != 0x8b) return in.readAllBytes();
            try (GZIPInputStream gz = new GZIPInputStream(in, 1 << 16)) {
                return gz.readAllBytes();
            } catch (EOFException e) {
                throw new DatasetFormatException(file + ": the gzip stream is truncated", e);
            } catch (ZipException e) {
                throw new DatasetFormatException(file + ": corrupt gzip data (" + e.getMessage() + ")", e);
            }
        }
    }

    /** Parses and checks an IDX header; returns the dimension sizes. */
    static int[] header(byte[] b, Path file, int magic, String what) throws DatasetFormatException {
        int dims = magic & 0xff;
        if (b.length < 4) {
            throw new DatasetFormatException(file + ": " + b.length + " bytes is too short for an IDX " + what
                    + " file (expected magic 0x" + hex(magic) + ")");
        }
        int found = readInt(b, 0);
        if (found != magic) {
            String hint = found == IMAGES_MAGIC ? " (an IDX image file)" : found == LABELS_MAGIC ? " (an IDX label file)" : "";
            throw new DatasetFormatException(file + ": magic number 0x" + hex(found) + hint + " is not that of an IDX "
                    + what + " file (0x" + hex(magic) + ": unsigned bytes, " + dims + " dimension" + (dims > 1 ? "s" : "") + ")");
        }
        int headerBytes = 4 + 4 * dims;
        if (b.length < headerBytes) {
            throw new DatasetFormatException(file + ": truncated header (" + b.length + " bytes, need " + headerBytes + ")");
        }
        int[] sizes = new int[dims];
        for (int d = 0; d < dims; d++) {
            sizes[d] = readInt(b, 4 + 4 * d);
            if (sizes[d] < 0) throw new DatasetFormatException(file + ": dimension " + d + " is negative (" + sizes[d] + ")");
        }
        return sizes;
    }

    private static void checkLength(byte[] b, int offset, long expected, Path file, String claim)
            throws DatasetFormatException {
        long actual = b.length - (long) offset;
        if (actual < expected) {
            throw new DatasetFormatException(file + " is truncated: its header announces " + claim + " (" + expected
                    + " bytes of data) but only " + actual + " bytes follow");
        }
        if (actual > expected) {
            throw new DatasetFormatException(file + ": its header announces " + claim + " (" + expected
                    + " bytes of data) but " + actual + " bytes follow");
        }
    }

    private static int readInt(byte[] b, int off) {
        return ((b[off] & 0xff) << 24) | ((b[off + 1] & 0xff) << 16) | ((b[off + 2] & 0xff) << 8) | (b[off + 3] & 0xff);
    }

    private static String hex(int v) {
        return String.format("%08x", v);
    }

    @Override
    public int size() {
        return count;
    }

    @Override
    public Example get(int index) {
        Objects.checkIndex(index, count);
        int n = rows * cols;
        float[] px = new float[n];
        int off = imagesOffset + index * n;
        for (int k = 0; k < n; k++) px[k] = (images[off + k] & 0xff) / 255f;
        return new Example(Tensor.of(px, 1, rows, cols), labels[labelsOffset + index] & 0xff);
    }

    @Override
    public int label(int index) {
        Objects.checkIndex(index, count);
        return labels[labelsOffset + index] & 0xff;
    }

    @Override
    public List<String> classes() {
        return classes;
    }

    @Override
    public int channels() {
        return 1;
    }

    @Override
    public int height() {
        return rows;
    }

    @Override
    public int width() {
        return cols;
    }

    public Path imagesFile() {
        return imagesFile;
    }

    public Path labelsFile() {
        return labelsFile;
    }

    @Override
    public String toString() {
        return "IdxDataset(" + count + " x 1x" + rows + "x" + cols + ", " + imagesFile + ")";
    }
}
