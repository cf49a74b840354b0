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
 * {@code annotations} (image_id, category_id, bbox as [x, y, width, height], iscrowd) and
 * {@code categories} (id, name). Boxes become XYXY clipped to the image, and those left without
 * area are dropped, as the reference's ConvertCocoPolysToMask; crowd regions are kept with their
 * flag (ignored in matching and in the loss); images without annotations are kept as negatives.
 * Category ids, which COCO leaves with gaps (1..90 for 80 classes), become contiguous labels in
 * increasing id order; {@link #categoryId} maps back for exporting detections.
 *
 * <p>The whole file is checked when it is opened: a field of the wrong type, an annotation of an
 * unknown image or category, or a bbox that is not four numbers is an error naming the annotation.
 */
public final class CocoDetection implements DenseDataset {
    private record Image(long id, Path file, int width, int height, List<float[]> boxes, List<Integer> labels, List<Boolean> crowd) {}

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
                    (int) number(im, "height", annotations, what), new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
            if (img.width < 1 || img.height < 1) throw new DatasetFormatException(annotations + ": " + what + " is " + img.width + "x" + img.height);
            if (byId.put(id, img) != null) throw new DatasetFormatException(annotations + ": two images with id " + id);
        }
        for (Object o : list(root, "annotations", annotations)) {
            Map<?, ?> a = object(o, annotations, "annotations");
            String what = "annotation " + a.get("id");
            Image img = byId.get(number(a, "image_id", annotations, what));
            if (img == null) throw new DatasetFormatException(annotations + ": " + what + " refers to image " + a.get("image_id") + ", which is not in \"images\"");
            Integer label = labelOf.get(number(a, "category_id", annotations, what));
            if (label == null) throw new DatasetFormatException(annotations + ": " + what + " has category_id " + a.get("category_id") + ", not in \"categories\"");
            if (!(a.get("bbox") instanceof List<?> bb) || bb.size() != 4 || !bb.stream().allMatch(v -> v instanceof Number)) {
                throw new DatasetFormatException(annotations + ": " + what + ": bbox must be [x, y, width, height], got " + a.get("bbox"));
            }
            double x = ((Number) bb.get(0)).doubleValue(), y = ((Number) bb.get(1)).doubleValue();
            float x0 = clamp(x, img.width), y0 = clamp(y, img.height);
            float x1 = clamp(x + ((Number) bb.get(2)).doubleValue(), img.width), y1 = clamp(y + ((Number) bb.get(3)).doubleValue(), img.height);
            if (!(x1 > x0 && y1 > y0)) continue; // no area left inside the image: dropped, as the reference does
            img.boxes.add(new float[] {x0, y0, x1, y1});
            img.labels.add(label);
            img.crowd.add(a.get("iscrowd") instanceof Number n && n.intValue() == 1);
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

    /** Image {@code index} decoded (strictly, as every resnet4j image), with its boxes; its size must be the one the JSON declares. */
    @Override
    public DenseExample get(int index) throws IOException {
        Image im = images.get(index);
        Tensor img = ImageDecoder.decode(im.file);
        if (img.dim(1) != im.height || img.dim(2) != im.width) {
            throw new DatasetFormatException(im.file + " is " + img.dim(2) + "x" + img.dim(1) + ", its annotation says " + im.width + "x" + im.height);
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

    /** The COCO category id of contiguous label {@code label}. */
    public long categoryId(int label) {
        return categoryIds[label];
    }

    @Override
    public List<String> classes() {
        return List.copyOf(classes);
    }
}
