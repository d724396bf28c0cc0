// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Numbers read from JSON another program wrote (torch_ref.py): a missing key or a value that is not a number
 * is an error naming the key and where the JSON came from, never a silent 0 that a comparison would then use.
 */
final class JsonNumbers {
    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonNumbers() {}

    /** The number under {@code key} in the one JSON object {@code line}; {@code source} names the output. */
    static double require(String line, String key, String source) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(source + " is not one JSON line (" + e.getOriginalMessage() + "): " + line, e);
        }
        return require(node, key, source + " (" + line + ")");
    }

    /** The number under {@code key} of {@code node}; {@code source} names the file or output it came from. */
    static double require(JsonNode node, String key, String source) {
        JsonNode v = node == null ? null : node.get(key);
        if (v == null || v.isNull()) {
            throw new IllegalArgumentException(source + " has no \"" + key + "\"");
        }
        if (!v.isNumber()) {
            throw new IllegalArgumentException(source + ": \"" + key + "\" must be a number but is " + v);
        }
        return v.doubleValue();
    }
}
