package org.resnet4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.resnet4j.data.ImageFolder;
import org.resnet4j.tensor.Tensor;
import picocli.CommandLine.Model.CommandSpec;

/**
 * What the commands over image files (segment, detect) share: class names from a file or a
 * default that fits the weights, and decoding each file with a failure reported on stderr and
 * counted, so the other files are still answered (as predict does).
 */
final class ImageArgs {
    private ImageArgs() {}

    /** Names from {@code file} (one per line), else {@code fallback} when it has {@code classes} entries, else null (numbered). */
    static List<String> labels(Path file, List<String> fallback, int classes) throws IOException {
        List<String> names = file != null ? Files.readAllLines(file).stream().map(String::strip).filter(s -> !s.isEmpty()).toList()
                : fallback.size() == classes ? fallback : null;
        if (names != null && names.size() != classes) {
            throw new IllegalArgumentException(file + " names " + names.size() + " classes, the weights have " + classes);
        }
        return names;
    }

    /** The image as RGB, or null when it cannot be read (the reason printed on the command's stderr). */
    static Tensor decodeOrReport(Path file, CommandSpec spec) {
        try {
            return ImageFolder.decode(file, 3);
        } catch (IOException e) {
            spec.commandLine().getErr().println("error: " + e.getMessage());
            spec.commandLine().getErr().flush();
            return null;
        }
    }
}
