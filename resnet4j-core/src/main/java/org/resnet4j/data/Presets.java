package org.resnet4j.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Preprocessing presets and class names of the ImageNet-trained torchvision models: resize the
 * shorter side to 256 (bilinear), center-crop 224, scale to [0, 1] and normalize with the
 * ImageNet mean and std (torchvision's ResNet50_Weights.IMAGENET1K_V1.transforms()).
 * The class names are torchvision's {@code _IMAGENET_CATEGORIES}, in index order.
 */
public final class Presets {
    private static volatile List<String> imagenetClasses;

    private Presets() {}

    /** Resize 256, center crop 224, ImageNet normalization. */
    public static Transform imagenetEval() {
        return imagenetEval(256, 224);
    }

    public static Transform imagenetEval(int resize, int crop) {
        return new Compose(new Resize(resize), new CenterCrop(crop), Normalize.imagenet());
    }

    /** The 1000 ImageNet class names ("tench", "goldfish", ...), index = class. */
    public static List<String> imagenetClasses() {
        List<String> c = imagenetClasses;
        if (c == null) {
            List<String> names = new ArrayList<>();
            try (var in = Presets.class.getResourceAsStream("imagenet_classes.txt")) {
                if (in == null) throw new IllegalStateException("imagenet_classes.txt missing from the jar");
                BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
                for (String line; (line = r.readLine()) != null; ) if (!line.isEmpty()) names.add(line);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (names.size() != 1000) throw new IllegalStateException("imagenet_classes.txt has " + names.size() + " names, not 1000");
            imagenetClasses = c = Collections.unmodifiableList(names);
        }
        return c;
    }
}
