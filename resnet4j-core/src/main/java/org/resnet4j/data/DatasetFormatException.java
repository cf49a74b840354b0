package org.resnet4j.data;

import java.io.IOException;

/**
 * A dataset file whose contents contradict its format: wrong magic number, impossible
 * dimensions, truncated data, images and labels that disagree in count, labels out of range.
 * Messages name the file and the values at fault. (A missing file is a
 * {@link java.io.FileNotFoundException} instead.)
 */
public class DatasetFormatException extends IOException {
    public DatasetFormatException(String message) {
        super(message);
    }

    public DatasetFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
