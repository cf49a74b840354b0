package org.resnet4j.io;

import java.io.IOException;

/**
 * The single error type of every weight/tensor-file loader: a file that cannot be read, or whose
 * contents are malformed, surfaces as this exception and never as an unchecked exception or an
 * error. Messages name the file and, where relevant, the tensor key, dtype, shape or offsets at
 * fault, so a user can tell which file is broken and where.
 */
public class WeightsFormatException extends IOException {
    public WeightsFormatException(String message) {
        super(message);
    }

    public WeightsFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
