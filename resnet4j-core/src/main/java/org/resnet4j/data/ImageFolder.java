package org.resnet4j.data;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Stream;
import org.resnet4j.tensor.Tensor;

/**
 * torchvision.datasets.ImageFolder: one folder per class under the root, images anywhere below it.
 * Class folders sorted by name give the class indices ({@code find_classes}); inside each, image files are found
 * recursively and ordered as torchvision's {@code make_dataset} orders them (directories in sorted
 * order, then sorted file names). A file counts as an image by its extension, case-insensitively.
 *
 * <p>Images are decoded with {@link javax.imageio.ImageIO} on every {@link #get} (nothing is cached) and
 * converted to RGB like PIL's {@code convert("RGB")} (the default loader of ImageFolder); sizes
 * may differ between images, so a {@link Resize}/{@link CenterCrop}/{@link RandomResizedCrop}
 * transform is needed before batching. A file that cannot be decoded — damaged, truncated, or
 * larger than {@link ImageDecoder#maxPixels()} — raises {@link CorruptImageException}, which
 * {@link DataLoader} skips and counts.
 */
public final class ImageFolder implements Dataset {
    /** Extensions ImageIO decodes out of the box (torchvision's IMG_EXTENSIONS minus those the JDK cannot read). */
    public static final Set<String> EXTENSIONS = Set.of("jpg", "jpeg", "png", "bmp", "gif", "tif", "tiff", "wbmp");

    private final Path root;
    private final List<String> classes;
    private final Path[] files;
    private final int[] labels;

    /**
     * Scans {@code root}.
     *
     * @throws FileNotFoundException when root has no class folder, or a class folder holds no image
     *     (torchvision raises FileNotFoundError in both cases rather than train on a silently missing class)
     */
    public ImageFolder(Path root) throws IOException {
        this.root = Objects.requireNonNull(root, "root");
        if (!Files.isDirectory(root)) throw new FileNotFoundException(root + " is not a directory");
        List<Path> classDirs;
        try (Stream<Path> s = Files.list(root)) {
            classDirs = s.filter(Files::isDirectory)
                    .sorted(Comparator.comparing(p -> p.getFileName().toString()))
                    .toList();
        }
        if (classDirs.isEmpty()) throw new FileNotFoundException("no class folders found in " + root);
        List<String> names = new ArrayList<>();
        List<Path> all = new ArrayList<>();
        List<Integer> labelList = new ArrayList<>();
        List<String> empty = new ArrayList<>();
        for (int c = 0; c < classDirs.size(); c++) {
            Path dir = classDirs.get(c);
            names.add(dir.getFileName().toString());
            List<Path> images;
            try (Stream<Path> s = Files.walk(dir, FileVisitOption.FOLLOW_LINKS)) {
                images = s.filter(Files::isRegularFile)
                        .filter(ImageFolder::isImage)
                        .sorted(Comparator.comparing((Path p) -> p.getParent().toString())
                                .thenComparing(p -> p.getFileName().toString()))
                        .toList();
            }
            if (images.isEmpty()) empty.add(names.get(c));
            for (Path p : images) {
                all.add(p);
                labelList.add(c);
            }
        }
        if (!empty.isEmpty()) {
            throw new FileNotFoundException("found no image file for the class" + (empty.size() > 1 ? "es " : " ")
                    + String.join(", ", empty) + " in " + root + "; supported extensions are "
                    + EXTENSIONS.stream().sorted().toList());
        }
        this.classes = List.copyOf(names);
        this.files = all.toArray(Path[]::new);
        this.labels = labelList.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Whether the file name ends in one of {@link #EXTENSIONS}, ignoring case. */
    public static boolean isImage(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot >= 0 && EXTENSIONS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    /**
     * Decodes with the channel count a model expects: a grey image is repeated for a colour model,
     * a colour image becomes its luma (ITU-R 601, as PIL's convert("L")) for a grey one.
     */
    public static Tensor decode(Path file, int channels) throws CorruptImageException {
        if (channels != 1 && channels != 3) throw new IllegalArgumentException(file + ": cannot convert an image to " + channels + " channels");
        return ImageDecoder.toChannels(decode(file), channels);
    }

    /** Decodes one image file to float32 RGB CHW in [0, 1], strictly: see {@link ImageDecoder}. */
    public static Tensor decode(Path file) throws CorruptImageException {
        return ImageDecoder.decode(file);
    }

    @Override
    public int size() {
        return files.length;
    }

    @Override
    public Example get(int index) throws CorruptImageException {
        Objects.checkIndex(index, files.length);
        return new Example(decode(files[index]), labels[index]);
    }

    @Override
    public int label(int index) {
        Objects.checkIndex(index, files.length);
        return labels[index];
    }

    /** The image file of example {@code index} (torchvision's {@code samples[index][0]}). */
    public Path file(int index) {
        Objects.checkIndex(index, files.length);
        return files[index];
    }

    public Path root() {
        return root;
    }

    @Override
    public List<String> classes() {
        return classes;
    }

    @Override
    public int channels() {
        return 3;
    }

    /** -1: images keep their own sizes. */
    @Override
    public int height() {
        return -1;
    }

    /** -1: images keep their own sizes. */
    @Override
    public int width() {
        return -1;
    }

    @Override
    public String toString() {
        return "ImageFolder(" + root + ", " + files.length + " images, " + classes.size() + " classes)";
    }
}
