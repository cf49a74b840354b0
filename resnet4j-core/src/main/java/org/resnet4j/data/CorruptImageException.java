package org.resnet4j.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A sample whose image cannot be decoded (random bytes, a truncated or unsupported file, a file
 * that vanished since the folder was scanned). {@link DataLoader} skips and counts such samples
 * instead of failing the epoch; every other exception from a dataset is fatal. The message
 * always names the file.
 */
public class CorruptImageException extends IOException {
    private final transient Path file;

    public CorruptImageException(Path file, String reason) {
        this(file, reason, null);
    }

    public CorruptImageException(Path file, String reason, Throwable cause) {
        super(file + ": " + reason, cause);
        this.file = file;
    }

    /** The file that could not be decoded. */
    public Path file() {
        return file;
    }
}
