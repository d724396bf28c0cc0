// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A recipe's validated configuration: the declared keys' defaults, overlaid by a YAML file (nested sections
 * become dotted keys), overlaid by {@code key=value} overrides. An unknown key, a value of the wrong type or out of
 * the key's {@link Bounds}, and a YAML syntax error are errors that name the key or file and where it came from.
 */
public final class RecipeConfig {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private final Map<String, ConfigKey> keys = new LinkedHashMap<>();
    private final Map<String, Object> values = new LinkedHashMap<>();

    private RecipeConfig(List<ConfigKey> declared) {
        for (ConfigKey k : declared) {
            keys.put(k.name(), k);
            values.put(k.name(), k.defaultValue());
        }
    }

    /** Defaults, then the YAML file (may be null), then the overrides, in order. */
    public static RecipeConfig load(List<ConfigKey> declared, Path yaml, List<String> overrides) throws IOException {
        RecipeConfig config = new RecipeConfig(declared);
        if (yaml != null) {
            if (!Files.isRegularFile(yaml)) {
                throw new IllegalArgumentException("config file " + yaml + " does not exist");
            }
            config.overlay(parse(yaml), "", yaml.toString());
        }
        for (String o : overrides) {
            int eq = o.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("override '" + o + "' must have the form key=value");
            }
            String key = o.substring(0, eq).trim();
            String value = o.substring(eq + 1);
            JsonNode node;
            try {
                node = YAML.readTree(value.isBlank() ? "null" : value);
            } catch (JsonProcessingException e) {
                throw YamlSyntax.error("override '" + o + "'", e);
            }
            config.set(key, node, "the command line");
        }
        config.checkRequired();
        return config;
    }

    private static JsonNode parse(Path yaml) throws IOException {
        try (InputStream in = Files.newInputStream(yaml)) {
            return YAML.readTree(in);
        } catch (JsonProcessingException e) {
            throw YamlSyntax.error("config file " + yaml, e);
        }
    }

    private void overlay(JsonNode node, String prefix, String source) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return;
        }
        if (!node.isObject()) {
            throw new IllegalArgumentException(source + ": the top level must be a mapping of keys");
        }
        Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> f = fields.next();
            String key = prefix + f.getKey();
            if (f.getValue().isObject() && !keys.containsKey(key)) {
                overlay(f.getValue(), key + ".", source);
            } else {
                set(key, f.getValue(), source);
            }
        }
    }

    private void set(String key, JsonNode value, String source) {
        ConfigKey k = keys.get(key);
        if (k == null) {
            throw new IllegalArgumentException("unknown config key '" + key + "' in " + source
                + KeySuggestions.forUnknown(key, keys.keySet()) + "; run with --help for the keys");
        }
        Object converted = convert(k, value, source);
        if (converted instanceof Number n && !k.bounds().contains(n.doubleValue())) {
            throw new IllegalArgumentException("config key '" + key + "' in " + source + " must be "
                + k.bounds().describe() + " but is " + value);
        }
        values.put(key, converted);
    }

    private static Object convert(ConfigKey k, JsonNode v, String source) {
        if (v.isNull()) {
            if (k.optional()) {
                return null;
            }
            throw wrongType(k, v, source);
        }
        return switch (k.type()) {
            case INT -> {
                if (!v.canConvertToInt() || !v.isIntegralNumber()) {
                    throw wrongType(k, v, source);
                }
                yield v.intValue();
            }
            case LONG -> {
                if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                    throw wrongType(k, v, source);
                }
                yield v.longValue();
            }
            case DOUBLE -> {
                if (!v.isNumber()) {
                    throw wrongType(k, v, source);
                }
                yield v.doubleValue();
            }
            case BOOL -> {
                if (!v.isBoolean()) {
                    throw wrongType(k, v, source);
                }
                yield v.booleanValue();
            }
            case STRING -> {
                if (!v.isValueNode()) {
                    throw wrongType(k, v, source);
                }
                yield v.asText();
            }
            case STRING_LIST -> {
                List<String> items = new ArrayList<>();
                if (v.isArray()) {
                    v.forEach(item -> items.add(item.asText()));
                } else if (v.isTextual()) {
                    Arrays.stream(v.asText().split(",")).map(String::trim).filter(s -> !s.isEmpty()).forEach(items::add);
                } else {
                    throw wrongType(k, v, source);
                }
                yield Collections.unmodifiableList(items);
            }
        };
    }

    private static IllegalArgumentException wrongType(ConfigKey k, JsonNode v, String source) {
        return new IllegalArgumentException("config key '" + k.name() + "' in " + source + " must be "
            + describe(k.type()) + " but is " + v);
    }

    private static String describe(ConfigKey.Type t) {
        return switch (t) {
            case INT, LONG -> "an integer";
            case DOUBLE -> "a number";
            case BOOL -> "true or false";
            case STRING -> "a string";
            case STRING_LIST -> "a list of strings (YAML list or comma-separated)";
        };
    }

    private void checkRequired() {
        keys.values().forEach(k -> {
            if (values.get(k.name()) == null && !k.optional()) {
                throw new IllegalArgumentException("config key '" + k.name() + "' is required: " + k.description());
            }
        });
    }

    private Object raw(String key) {
        if (!keys.containsKey(key)) {
            throw new IllegalArgumentException("the recipe reads config key '" + key + "' but does not declare it");
        }
        return values.get(key);
    }

    public int integer(String key) {
        return (Integer) raw(key);
    }

    public long longValue(String key) {
        Object v = raw(key);
        return v instanceof Integer i ? i : (Long) v;
    }

    public double real(String key) {
        return ((Number) raw(key)).doubleValue();
    }

    public boolean bool(String key) {
        return (Boolean) raw(key);
    }

    /** The string value, or null for an optional key left unset. */
    public String string(String key) {
        return (String) raw(key);
    }

    @SuppressWarnings("unchecked")
    public List<String> strings(String key) {
        Object v = raw(key);
        return v == null ? List.of() : (List<String>) v;
    }

    /** Every key with its value, in declaration order (what a checkpoint stores and a log prints). */
    public Map<String, Object> values() {
        return Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    /** The keys as {@code --help} shows them: name, default and meaning, one per line. */
    public static String help(List<ConfigKey> declared) {
        StringBuilder sb = new StringBuilder("Config keys (set in --config FILE or as key=value):\n");
        for (ConfigKey k : declared) {
            String def = k.defaultValue() == null ? (k.optional() ? "unset" : "required") : String.valueOf(k.defaultValue());
            String accepted = Bounds.ANY.equals(k.bounds()) ? "" : " (" + k.bounds().describe() + ")";
            sb.append(String.format("  %-26s %-8s default %-14s %s%s%n", k.name(), k.type().name().toLowerCase(),
                def, k.description(), accepted));
        }
        return sb.toString();
    }
}
