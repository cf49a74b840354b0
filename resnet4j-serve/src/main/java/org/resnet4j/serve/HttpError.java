package org.resnet4j.serve;

import java.util.Map;

/** A request refused with a status, a reason (the JSON answer's "error") and extra headers (Retry-After, Allow). */
final class HttpError extends Exception {
    final int status;
    final Map<String, String> headers;

    HttpError(int status, String message) {
        this(status, message, Map.of());
    }

    HttpError(int status, String message, Map<String, String> headers) {
        super(message, null, false, false);
        this.status = status;
        this.headers = headers;
    }
}
