// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A Hugging Face {@code config.json}, read with typed getters whose errors name the key, the file, the expected
 * type and the value found. Unknown keys are ignored, as Hugging Face does; each model family reads its keys in
 * one place.
 */
public final class HfConfig {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final JsonNode root;
    private final String source;
    /** "" at the top, "rope_scaling." in a section: what error messages and keysRead put before a key. */
    private final String prefix;
    private final Set<String> keysRead;

    private HfConfig(JsonNode root, String source, String prefix, Set<String> keysRead) {
        this.root = root;
        this.source = source;
        this.prefix = prefix;
        this.keysRead = keysRead;
    }

    /** Reads {@code file}; a missing file or invalid JSON is an error naming it. */
    public static HfConfig read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("config file " + file + " does not exist");
        }
        try {
            return parse(Files.readString(file), file.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read config file " + file, e);
        }
    }

    /** Parses JSON text; {@code source} names it in error messages. */
    public static HfConfig parse(String json, String source) {
        try {
            JsonNode node = JSON.readTree(json);
            if (node == null || !node.isObject()) {
                throw new IllegalArgumentException(source + ": a config must be a JSON object");
            }
            return new HfConfig(node, source, "", Collections.synchronizedSet(new LinkedHashSet<>()));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(source + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** True when {@code key} is present with a value other than JSON null. */
    public boolean has(String key) {
        keysRead.add(prefix + key);
        return root.has(key) && !root.get(key).isNull();
    }

    /**
     * A nested object such as {@code rope_scaling}, empty when absent or null; its errors name the key as
     * "rope_scaling.factor".
     */
    public Optional<HfConfig> section(String key) {
        if (!has(key)) {
            return Optional.empty();
        }
        if (!root.get(key).isObject()) {
            throw wrongType(key, "a JSON object", root.get(key));
        }
        return Optional.of(new HfConfig(root.get(key), source, prefix + key + ".", keysRead));
    }

    /** The keys of this object, in file order. */
    public List<String> keys() {
        List<String> keys = new ArrayList<>();
        root.fieldNames().forEachRemaining(keys::add);
        return keys;
    }

    /**
     * Every key a reader asked for so far, present or not, with its section prefix ("rope_scaling.factor"): the
     * keys a model family reads.
     */
    public Set<String> keysRead() {
        synchronized (keysRead) {
            return new LinkedHashSet<>(keysRead);
        }
    }

    /** A required integer (a JSON integer within int range; 64.0 is not accepted). */
    public int integer(String key) {
        return integerValue(key, required(key));
    }

    /** An integer, or {@code defaultValue} when the key is absent or null. */
    public int integer(String key, int defaultValue) {
        return has(key) ? integerValue(key, root.get(key)) : defaultValue;
    }

    /** An integer that may be absent or JSON null (e.g. {@code q_lora_rank}). */
    public OptionalInt optionalInteger(String key) {
        return has(key) ? OptionalInt.of(integerValue(key, root.get(key))) : OptionalInt.empty();
    }

    /** A required size: an integer above 0 (hidden_size, num_hidden_layers); 0 or less names the key and file. */
    public int positiveInteger(String key) {
        return atLeast(key, integer(key), 1);
    }

    /** A size that may be absent or null, then {@code defaultValue}; when given it must be above 0. */
    public int positiveInteger(String key, int defaultValue) {
        return has(key) ? positiveInteger(key) : defaultValue;
    }

    /** An optional size: absent or null means "none" (q_lora_rank), a given value must be above 0. */
    public OptionalInt optionalPositiveInteger(String key) {
        return has(key) ? OptionalInt.of(positiveInteger(key)) : OptionalInt.empty();
    }

    /** A count that may be 0 (first_k_dense_replace), or {@code defaultValue} when absent; a negative one is an error. */
    public int nonNegativeInteger(String key, int defaultValue) {
        return has(key) ? atLeast(key, integer(key), 0) : defaultValue;
    }

    /** A required number (integers are accepted). */
    public double real(String key) {
        return realValue(key, required(key));
    }

    /** A number, or {@code defaultValue} when the key is absent or null. */
    public double real(String key, double defaultValue) {
        return has(key) ? realValue(key, root.get(key)) : defaultValue;
    }

    /** A JSON boolean, or {@code defaultValue} when the key is absent or null. */
    public boolean bool(String key, boolean defaultValue) {
        if (!has(key)) {
            return defaultValue;
        }
        JsonNode v = root.get(key);
        if (!v.isBoolean()) {
            throw wrongType(key, "true or false", v);
        }
        return v.booleanValue();
    }

    /** A required string. */
    public String string(String key) {
        return stringValue(key, required(key));
    }

    /** A string, or {@code defaultValue} when the key is absent or null. */
    public String string(String key, String defaultValue) {
        return has(key) ? stringValue(key, root.get(key)) : defaultValue;
    }

    /** The enum constant whose name equals the value ignoring case; the error lists the accepted values. */
    public <E extends Enum<E>> E enumValue(String key, Class<E> type, E defaultValue) {
        if (!has(key)) {
            return defaultValue;
        }
        String v = stringValue(key, root.get(key));
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(v)) {
                return e;
            }
        }
        throw new IllegalArgumentException(source + ": " + prefix + key + " must be one of "
            + Arrays.stream(type.getEnumConstants()).map(e -> e.name().toLowerCase()).toList() + " but is \"" + v + "\"");
    }

    /** The whole config as plain Java values (maps, lists, numbers, strings). */
    @SuppressWarnings("unchecked")
    public Map<String, Object> asMap() {
        return JSON.convertValue(root, Map.class);
    }

    /** Where this config came from, as used in error messages. */
    public String source() {
        return source;
    }

    private JsonNode required(String key) {
        if (!has(key)) {
            throw new IllegalArgumentException(source + ": required key " + prefix + key
                + (root.has(key) ? " is null" : " is missing"));
        }
        return root.get(key);
    }

    private int atLeast(String key, int value, int min) {
        if (value < min) {
            throw new IllegalArgumentException(source + ": " + prefix + key + " must be " + (min == 1 ? "positive" : "at least " + min)
                + " but is " + value);
        }
        return value;
    }

    private int integerValue(String key, JsonNode v) {
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw wrongType(key, "an integer", v);
        }
        return v.intValue();
    }

    private double realValue(String key, JsonNode v) {
        if (!v.isNumber()) {
            throw wrongType(key, "a number", v);
        }
        return v.doubleValue();
    }

    private String stringValue(String key, JsonNode v) {
        if (!v.isTextual()) {
            throw wrongType(key, "a string", v);
        }
        return v.textValue();
    }

    private IllegalArgumentException wrongType(String key, String expected, JsonNode found) {
        return new IllegalArgumentException(source + ": " + prefix + key + " must be " + expected + " but is " + found);
    }
}
