package org.resnet4j.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.resnet4j.data.ImageDecoder;
import org.resnet4j.data.SyntheticShapes;

/**
 * Tiny data the examples make for themselves (no downloads): PNG files of resnet4j's synthetic
 * shapes, laid out as torchvision's ImageFolder expects (root/split/class/file.png).
 */
final class ExampleData {
    private ExampleData() {}

    /** root/train and root/val, each with one folder per shape class. */
    static Path imageFolder(Path root, int trainImages, int valImages, int size) throws IOException {
        write(new SyntheticShapes(trainImages, 1, size), root.resolve("train"));
        write(new SyntheticShapes(valImages, 2, size), root.resolve("val"));
        return root;
    }

    /** A few loose image files, e.g. to classify. */
    static List<Path> images(Path dir, int count, int size) throws IOException {
        SyntheticShapes shapes = new SyntheticShapes(count, 3, size);
        List<Path> files = new ArrayList<>();
        Files.createDirectories(dir);
        for (int i = 0; i < count; i++) {
            Path f = dir.resolve("image" + i + ".png");
            ImageIO.write(ImageDecoder.toImage(shapes.get(i).image(), 1), "png", f.toFile());
            files.add(f);
        }
        return files;
    }

    private static void write(SyntheticShapes shapes, Path split) throws IOException {
        for (int i = 0; i < shapes.size(); i++) {
            Path dir = split.resolve(SyntheticShapes.CLASSES.get(shapes.label(i)));
            Files.createDirectories(dir);
            ImageIO.write(ImageDecoder.toImage(shapes.get(i).image(), 1), "png", dir.resolve(i + ".png").toFile());
        }
    }
}
