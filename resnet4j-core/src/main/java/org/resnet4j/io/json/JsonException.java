package org.resnet4j.io.json;

/** Text that is not valid JSON; the message says what was wrong and where (line and column). */
public final class JsonException extends IllegalArgumentException {
    public JsonException(String message) {
        super(message);
    }
}
