package org.resnet4j.serve;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.resnet4j.io.json.Json;

/** An answer to send: status, JSON or text body, extra headers. */
record Reply(int status, String contentType, byte[] body, Map<String, String> headers) {
    static Reply json(int status, Object value) {
        return new Reply(status, "application/json", Json.write(value).getBytes(StandardCharsets.UTF_8), Map.of());
    }

    static Reply error(int status, String message) {
        return json(status, Map.of("error", message));
    }
}
