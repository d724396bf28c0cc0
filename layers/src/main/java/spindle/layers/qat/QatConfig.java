// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;

/** A QAT scheme and its group size, as a {@code qat.json} or a config's {@code "qat"} section holds them. */
public record QatConfig(QatScheme scheme, int groupSize) {
    /** torchao's default group size for the per-group schemes. */
    public static final int DEFAULT_GROUP_SIZE = 32;

    public QatConfig {
        if (scheme == null) {
            throw new IllegalArgumentException("qat.scheme must be given");
        }
        if (groupSize < 1) {
            throw new IllegalArgumentException("qat.group_size must be positive but is " + groupSize);
        }
    }

    /** Reads {"scheme": "8da4w", "group_size": 32} (group_size optional); errors name the file and the key. */
    public static QatConfig read(Path file) {
        JsonNode json;
        try {
            json = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read the QAT config: " + e.getMessage(), e);
        }
        if (json == null || !json.path("scheme").isTextual()) {
            throw new IllegalArgumentException(file + ": key 'scheme' (a string such as \"8da4w\") is missing");
        }
        JsonNode group = json.path("group_size");
        if (!group.isMissingNode() && !group.canConvertToInt()) {
            throw new IllegalArgumentException(file + ": key 'group_size' must be an integer but is " + group);
        }
        try {
            return new QatConfig(QatScheme.parse(json.get("scheme").asText()), group.asInt(DEFAULT_GROUP_SIZE));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }
}
