package org.resnet4j.data.dense;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.resnet4j.data.DatasetFormatException;
import org.resnet4j.data.ImageDecoder;
import org.resnet4j.io.json.Json;
import org.resnet4j.io.json.JsonException;
import org.resnet4j.tensor.Tensor;

/**
 * A COCO "instances" annotation file over a folder of images (torchvision's {@code CocoDetection}
 * with the detection reference's conversion): {@code images} (id, file_name, width, height),
 * {@code annotations} (image_id, category_id, bbox as [x, y, width, height], iscrowd, area) and
 * {@code categories} (id, name). Boxes become XYXY clipped to the image, as the reference's
 * ConvertCocoPolysToMask; crowd regions are kept with their flag (the detection task ignores
 * them in matching and in the loss); images without annotations are kept as negatives. Category
 * ids, which COCO leaves with gaps (1..90 for 80 classes), become contiguous labels in increasing
 * id order; {@link #categoryId} maps back for exporting detections.
 *
 * <p>The file's structure is checked when it is opened: a field of the wrong type or a bbox
 * that is not four numbers is an error naming the annotation. Entries that are well formed but
 * cannot be used are skipped and counted rather than stopping a run: an annotation of an image
 * or a category not in the file, a box with a non-finite, zero or negative width or height, and
 * a box with no area left inside its image (the reference drops the last two silently). Each is
 * described in {@link #problems()}, naming the file and the annotation; an image that cannot be
 * decoded is the loader's to skip ({@link org.resnet4j.data.CorruptImageException}).
 */
public final class CocoDetection implements DenseDataset {
    private record Image(long id, Path file, int width, int height, List<float[]> boxes, List<Integer> labels, List<Boolean> crowd,
                         List<GroundTruth> truth) {}

    /**
     * An annotation as COCO's evaluation reads it: the category id, the bbox [x, y, width,
     * height] as written (not clipped), the {@code area} field (w * h when absent) and iscrowd.
     */
    public record GroundTruth(long categoryId, double x, double y, double width, double height, double area, boolean crowd) {}

    private final List<String> problems = new ArrayList<>();

    private final List<Image> images = new ArrayList<>();
    private final List<String> classes = new ArrayList<>();
    private final long[] categoryIds;

    /** {@code annotations}: the JSON file; {@code imageDir}: where its file_names are. */
    public CocoDetection(Path annotations, Path imageDir) throws IOException {
        Map<String, Object> root;
        try {
            root = Json.parseObject(Files.readString(annotations));
        } catch (JsonException e) {
            throw new DatasetFormatException(annotations + ": not valid JSON: " + e.getMessage(), e);
        }
        TreeMap<Long, String> cats = new TreeMap<>();
        for (Object o : list(root, "categories", annotations)) {
            Map<?, ?> c = object(o, annotations, "categories");
            cats.put(number(c, "id", annotations, "a category"), string(c, "name", annotations, "category " + c.get("id")));
        }
        if (cats.isEmpty()) throw new DatasetFormatException(annotations + ": \"categories\" is empty");
        categoryIds = cats.keySet().stream().mapToLong(Long::longValue).toArray();
        Map<Long, Integer> labelOf = new HashMap<>();
        for (long id : categoryIds) {
            labelOf.put(id, classes.size());
            classes.add(cats.get(id));
        }
        Map<Long, Image> byId = new LinkedHashMap<>();
        for (Object o : list(root, "images", annotations)) {
            Map<?, ?> im = object(o, annotations, "images");
            long id = number(im, "id", annotations, "an image");
            String what = "image " + id;
            Image img = new Image(id, imageDir.resolve(string(im, "file_name", annotations, what)), (int) number(im, "width", annotations, what),
                    (int) number(im, "height", annotations, what), new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
            if (img.width < 1 || img.height < 1) throw new DatasetFormatException(annotations + ": " + what + " is " + img.width + "x" + img.height);
            if (byId.put(id, img) != null) throw new DatasetFormatException(annotations + ": two images with id " + id);
        }
        for (Object o : list(root, "annotations", annotations)) {
            Map<?, ?> a = object(o, annotations, "annotations");
            String what = "annotation " + a.get("id");
            long imageId = number(a, "image_id", annotations, what), categoryId = number(a, "category_id", annotations, what);
            if (!(a.get("bbox") instanceof List<?> bb) || bb.size() != 4 || !bb.stream().allMatch(v -> v instanceof Number)) {
                throw new DatasetFormatException(annotations + ": " + what + ": bbox must be [x, y, width, height], got " + a.get("bbox"));
            }
            Image img = byId.get(imageId);
            if (img == null) {
                problems.add(annotations + ": " + what + " refers to image " + imageId + ", which is not in \"images\"; skipped");
                continue;
            }
            Integer label = labelOf.get(categoryId);
            if (label == null) {
                problems.add(annotations + ": " + what + " has category_id " + categoryId + ", not in \"categories\"; skipped");
                continue;
            }
            double x = ((Number) bb.get(0)).doubleValue(), y = ((Number) bb.get(1)).doubleValue();
            double w = ((Number) bb.get(2)).doubleValue(), h = ((Number) bb.get(3)).doubleValue();
            if (!(Double.isFinite(x) && Double.isFinite(y) && w > 0 && h > 0 && Double.isFinite(w) && Double.isFinite(h))) {
                problems.add(annotations + ": " + what + " of image " + imageId + " has bbox " + bb + ": width and height must be positive and finite; skipped");
                continue;
            }
            float x0 = clamp(x, img.width), y0 = clamp(y, img.height);
            float x1 = clamp(x + w, img.width), y1 = clamp(y + h, img.height);
            if (!(x1 > x0 && y1 > y0)) {
                problems.add(annotations + ": " + what + " of image " + imageId + " has bbox " + bb + ", outside the " + img.width + "x"
                        + img.height + " image; skipped");
                continue;
            }
            boolean crowd = a.get("iscrowd") instanceof Number n && n.intValue() == 1;
            img.boxes.add(new float[] {x0, y0, x1, y1});
            img.labels.add(label);
            img.crowd.add(crowd);
            double area = a.get("area") instanceof Number n && n.doubleValue() >= 0 ? n.doubleValue() : w * h;
            img.truth.add(new GroundTruth(categoryId, x, y, w, h, area, crowd));
        }
        images.addAll(byId.values());
    }

    private static float clamp(double v, int max) {
        return (float) Math.min(max, Math.max(0, v));
    }

    private static List<?> list(Map<String, Object> root, String key, Path file) throws DatasetFormatException {
        if (!(root.get(key) instanceof List<?> l)) throw new DatasetFormatException(file + ": \"" + key + "\" must be a list, got " + Json.kind(root.get(key)));
        return l;
    }

    private static Map<?, ?> object(Object o, Path file, String key) throws DatasetFormatException {
        if (!(o instanceof Map<?, ?> m)) throw new DatasetFormatException(file + ": every entry of \"" + key + "\" must be an object, got " + Json.kind(o));
        return m;
    }

    private static long number(Map<?, ?> m, String key, Path file, String what) throws DatasetFormatException {
        if (!(m.get(key) instanceof Long l)) throw new DatasetFormatException(file + ": " + what + ": \"" + key + "\" must be an integer, got " + m.get(key));
        return l;
    }

    private static String string(Map<?, ?> m, String key, Path file, String what) throws DatasetFormatException {
        if (!(m.get(key) instanceof String s)) throw new DatasetFormatException(file + ": " + what + ": \"" + key + "\" must be a string, got " + m.get(key));
        return s;
    }

    @Override
    public int size() {
        return images.size();
    }

    /**
     * Image {@code index} decoded (strictly, as every resnet4j image), with its boxes; an image
     * that cannot be decoded, or whose size is not the one the JSON declares, is a
     * {@link org.resnet4j.data.CorruptImageException} (a loader skips it).
     */
    @Override
    public DenseExample get(int index) throws IOException {
        Image im = images.get(index);
        Tensor img = ImageDecoder.decode(im.file);
        if (img.dim(1) != im.height || img.dim(2) != im.width) {
            // its boxes cannot be trusted: skipped and counted by the loader, as an unreadable image
            throw new org.resnet4j.data.CorruptImageException(im.file, "the image is " + img.dim(2) + "x" + img.dim(1) + ", its annotation (image "
                    + im.id + ") says " + im.width + "x" + im.height);
        }
        int m = im.boxes.size();
        float[] boxes = new float[4 * m];
        int[] labels = new int[m];
        boolean[] crowd = new boolean[m];
        for (int i = 0; i < m; i++) {
            System.arraycopy(im.boxes.get(i), 0, boxes, 4 * i, 4);
            labels[i] = im.labels.get(i);
            crowd[i] = im.crowd.get(i);
        }
        return new DenseExample(img, new DenseTarget(boxes, labels, crowd, null, im.height, im.width));
    }

    /** The COCO image id of example {@code index}. */
    public long imageId(int index) {
        return images.get(index).id;
    }

    /** The annotations of example {@code index} that are used, as COCO's evaluation reads them. */
    public List<GroundTruth> groundTruth(int index) {
        return List.copyOf(images.get(index).truth);
    }

    /** Every image id, in the file's order. */
    public long[] imageIds() {
        return images.stream().mapToLong(Image::id).toArray();
    }

    /** Every category id, increasing (label k is the k-th). */
    public long[] categoryIds() {
        return categoryIds.clone();
    }

    /** One line per annotation skipped when the file was opened, naming the file and the annotation. */
    public List<String> problems() {
        return List.copyOf(problems);
    }

    /** The COCO category id of contiguous label {@code label}. */
    public long categoryId(int label) {
        return categoryIds[label];
    }

    @Override
    public List<String> classes() {
        return List.copyOf(classes);
    }
}
