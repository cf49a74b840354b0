package org.resnet4j.data.dense;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.resnet4j.data.CorruptImageException;
import org.resnet4j.data.DatasetFormatException;
import org.resnet4j.data.ImageDecoder;
import org.resnet4j.tensor.Tensor;

/**
 * PASCAL VOC's segmentation layout (torchvision's {@code VOCSegmentation}):
 * {@code ImageSets/Segmentation/SPLIT.txt} lists the ids, {@code JPEGImages/ID.jpg} is the image
 * and {@code SegmentationClass/ID.png} its mask, a palette PNG whose indices are the classes
 * (0 background, 255 the boundaries not scored; an 8-bit grey PNG of the same values is read
 * alike, as PIL reads both). The mask must be an indexed image of the
 * image's size, and every index below {@code classes} or 255; anything else is an error naming
 * the file and the value.
 */
public final class VocSegmentation implements DenseDataset {
    /** PASCAL VOC's 21 classes, index 0 the background. */
    public static final List<String> CLASSES = List.of("background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus",
            "car", "cat", "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
            "train", "tvmonitor");

    private final Path root;
    private final List<String> ids;
    private final List<String> classes;

    /** The split ("train", "val", ...) of a VOC-layout folder, with VOC's 21 classes. */
    public VocSegmentation(Path root, String split) throws IOException {
        this(root, split, CLASSES);
    }

    public VocSegmentation(Path root, String split, List<String> classes) throws IOException {
        this.root = root;
        this.classes = List.copyOf(classes);
        Path list = root.resolve("ImageSets").resolve("Segmentation").resolve(split + ".txt");
        if (!Files.isRegularFile(list)) throw new DatasetFormatException(list + ": no such file (the split's list of ids)");
        this.ids = Files.readAllLines(list).stream().map(String::strip).filter(s -> !s.isEmpty()).toList();
        if (ids.isEmpty()) throw new DatasetFormatException(list + ": lists no image");
    }

    @Override
    public int size() {
        return ids.size();
    }

    @Override
    public DenseExample get(int index) throws IOException {
        String id = ids.get(index);
        Path imageFile = root.resolve("JPEGImages").resolve(id + ".jpg"), maskFile = root.resolve("SegmentationClass").resolve(id + ".png");
        Tensor img = ImageDecoder.decode(imageFile);
        int h = img.dim(1), w = img.dim(2);
        Mask mask = readMask(maskFile, classes.size());
        if (mask.width != w || mask.height != h) {
            throw new DatasetFormatException(maskFile + " is " + mask.width + "x" + mask.height + ", its image " + imageFile.getFileName()
                    + " is " + w + "x" + h);
        }
        return new DenseExample(img, DenseTarget.mask(mask.values, h, w));
    }

    record Mask(int width, int height, int[] values) {}

    /** The class indices of a palette PNG mask, checked against the class count (255 allowed). */
    static Mask readMask(Path file, int classes) throws IOException {
        if (!Files.isRegularFile(file)) throw new CorruptImageException(file, "no such file (the mask)");
        BufferedImage m;
        try {
            m = ImageIO.read(file.toFile());
        } catch (IOException | RuntimeException e) {
            throw new CorruptImageException(file, "cannot decode the mask: " + e, e);
        }
        if (m == null) throw new CorruptImageException(file, "not a readable image");
        // PIL reads a mask as mode "P" (palette) or "L" (8-bit grey) and the values are the classes
        // either way; a colour image would need a colour-to-class table, which VOC does not use
        boolean grey8 = m.getRaster().getNumBands() == 1 && m.getColorModel().getComponentSize(0) == 8;
        if (!(m.getColorModel() instanceof IndexColorModel) && !grey8) {
            throw new DatasetFormatException(file + ": a mask must be a palette (indexed) or 8-bit grey PNG whose values are the classes, got a "
                    + m.getColorModel().getNumComponents() + "-component image");
        }
        int w = m.getWidth(), h = m.getHeight();
        int[] v = m.getRaster().getSamples(0, 0, w, h, 0, new int[w * h]);
        for (int p = 0; p < v.length; p++) {
            if (v[p] >= classes && v[p] != DenseTarget.IGNORE) {
                throw new DatasetFormatException(file + ": pixel (" + p % w + ", " + p / w + ") has class " + v[p] + ", past the "
                        + classes + " classes (and not 255, the ignored boundary)");
            }
        }
        return new Mask(w, h, v);
    }

    @Override
    public List<String> classes() {
        return classes;
    }
}
