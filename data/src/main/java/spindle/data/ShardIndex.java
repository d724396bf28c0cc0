// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code model.safetensors.index.json}, Hugging Face's table of a sharded checkpoint: {@code weight_map} names
 * the shard file of every tensor, {@code metadata.total_size} is the tensors' bytes. Shard names are plain file
 * names in the index's directory.
 *
 * @param weightMap tensor name to shard file name, in the index's order
 * @param totalSize metadata.total_size, or -1 when the index has none
 */
public record ShardIndex(Map<String, String> weightMap, long totalSize) {
    /** The index's file name in a model directory. */
    public static final String FILE = "model.safetensors.index.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
        .enable(SerializationFeature.INDENT_OUTPUT);

    public ShardIndex {
        weightMap = Collections.unmodifiableMap(new LinkedHashMap<>(weightMap));
    }

    /** Reads and checks {@code file}: a JSON object whose weight_map maps names to plain file names. */
    public static ShardIndex read(Path file) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw bad(file, "is not valid JSON: " + e.getOriginalMessage());
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject() || map.isEmpty()) {
            throw bad(file, "has no weight_map object naming the shard of each tensor");
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        map.fields().forEachRemaining(e -> {
            String shard = e.getValue().isTextual() ? e.getValue().textValue() : "";
            if (shard.isEmpty() || shard.contains("/") || shard.contains("\\") || shard.equals("..")) {
                throw bad(file, "maps tensor " + e.getKey() + " to " + e.getValue() + ", not a file name in its directory");
            }
            weightMap.put(e.getKey(), shard);
        });
        JsonNode total = root.path("metadata").path("total_size");
        return new ShardIndex(weightMap, total.canConvertToLong() ? total.longValue() : -1);
    }

    /** The shard files in order of first mention. */
    public List<String> shards() {
        return new ArrayList<>(new LinkedHashSet<>(weightMap.values()));
    }

    /** The tensors the index puts in {@code shard}, in the index's order. */
    public List<String> tensorsOf(String shard) {
        return weightMap.entrySet().stream().filter(e -> e.getValue().equals(shard)).map(Map.Entry::getKey).toList();
    }

    /** The index as save_pretrained writes it: keys sorted, two-space indentation, a final newline. */
    String toJson() throws IOException {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("metadata", Map.of("total_size", totalSize));
        root.put("weight_map", new TreeMap<>(weightMap));
        return JSON.writeValueAsString(root) + "\n";
    }

    static IllegalArgumentException bad(Path file, String what) {
        return new IllegalArgumentException("shard index " + file + " " + what);
    }
}
