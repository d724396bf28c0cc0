// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * adapter_config.json, PEFT's description of a LoRA adapter, as a {@link LoraConfig}. Writes the keys PEFT's
 * {@code save_pretrained} writes for a causal-LM LoRA, sorted at every level as PEFT's {@code sort_keys} does (so
 * rank_pattern and alpha_pattern keys, tried in order, come back sorted, as they do from PEFT); reads what PEFT writes, ignoring keys that do not
 * change a LoRA's numerics and refusing the settings this implementation does not have (a trained bias,
 * modules_to_save, fan_in_fan_out, layer replication) rather than loading a different model.
 */
public final class AdapterConfigFile {
    /** The config's file in a PEFT adapter directory. */
    public static final String FILE = "adapter_config.json";
    private static final ObjectMapper JSON = new ObjectMapper()
        .enable(SerializationFeature.INDENT_OUTPUT).enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

    private AdapterConfigFile() {}

    /** Writes {@code lora} to {@code file} with PEFT's keys, sorted; {@code baseModel} may be null. */
    public static void write(Path file, LoraConfig lora, String baseModel) {
        Map<String, Object> out = new TreeMap<>();
        out.put("base_model_name_or_path", baseModel);
        out.put("bias", "none");
        if (!lora.excludeModules().isEmpty()) {   // newer PEFT's key: written only when used, so older PEFT reads the rest
            out.put("exclude_modules", lora.excludeModules().toJson());
        }
        out.put("fan_in_fan_out", false);
        out.put("inference_mode", true);
        out.put("init_lora_weights", true);
        out.put("layers_pattern", lora.layersPattern().isEmpty() ? null : lora.layersPattern());
        out.put("layers_to_transform", lora.layersToTransform().isEmpty() ? null : lora.layersToTransform());
        out.put("lora_alpha", number(lora.loraAlpha()));
        out.put("lora_dropout", lora.loraDropout());
        out.put("modules_to_save", null);
        out.put("peft_type", "LORA");
        out.put("r", lora.r());
        Map<String, Object> alphas = new LinkedHashMap<>();
        lora.alphaPattern().forEach((k, v) -> alphas.put(k, number(v)));
        out.put("alpha_pattern", alphas);
        out.put("rank_pattern", lora.rankPattern());
        out.put("target_modules", lora.targetModules().toJson());
        out.put("task_type", "CAUSAL_LM");
        out.put("use_dora", lora.useDora());
        out.put("use_rslora", lora.useRslora());
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            JSON.writeValue(file.toFile(), out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /** The LoRA of an adapter_config.json; a missing required key or a value of the wrong kind is an error naming it. */
    public static LoraConfig read(Path file) {
        JsonNode c = tree(file);
        refuse(file, c, "peft_type", v -> !v.isNull() && !v.asText().equals("LORA"), "only LORA adapters are read");
        refuse(file, c, "bias", v -> !v.isNull() && !v.asText().equals("none"), "only bias \"none\" is supported");
        refuse(file, c, "fan_in_fan_out", JsonNode::asBoolean, "fan_in_fan_out (Conv1D weights) is not supported");
        refuse(file, c, "modules_to_save", v -> !v.isNull() && !v.isEmpty(), "modules_to_save is not supported");
        refuse(file, c, "layer_replication", v -> !v.isNull(), "layer_replication is not supported");
        refuse(file, c, "lora_bias", JsonNode::asBoolean, "lora_bias is not supported");
        JsonNode targets = require(file, c, "target_modules");
        if (targets.isNull()) {
            throw bad(file, "target_modules", "is null (PEFT then picks modules by model type); name the targets");
        }
        try {
            return LoraConfig.of(positiveInt(file, c, "r"), number(file, require(file, c, "lora_alpha"), "lora_alpha"),
                    TargetModules.parse(plain(file, targets, "target_modules"), "target_modules"))
                .withExcludeModules(TargetModules.parse(plain(file, c.path("exclude_modules"), "exclude_modules"),
                    "exclude_modules"))
                .withLayersToTransform(intList(file, c.path("layers_to_transform"), "layers_to_transform"))
                .withLayersPattern(stringList(file, c.path("layers_pattern"), "layers_pattern"))
                .withRankPattern(ranks(file, c.path("rank_pattern")))
                .withAlphaPattern(alphas(file, c.path("alpha_pattern")))
                .withDropout(c.has("lora_dropout") ? number(file, c.get("lora_dropout"), "lora_dropout") : 0)
                .withRslora(bool(file, c, "use_rslora"))
                .withDora(bool(file, c, "use_dora"));
        } catch (IllegalArgumentException e) {
            throw e.getMessage().startsWith(file.toString()) ? e : new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** base_model_name_or_path, when the file names one. */
    public static Optional<String> baseModel(Path file) {
        JsonNode v = tree(file).path("base_model_name_or_path");
        return v.isTextual() ? Optional.of(v.asText()) : Optional.empty();
    }

    private static JsonNode tree(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("adapter config " + file + " does not exist");
        }
        try {
            JsonNode c = JSON.readTree(file.toFile());
            if (c == null || !c.isObject()) {
                throw new IllegalArgumentException(file + " must hold a JSON object");
            }
            return c;
        } catch (IOException e) {
            throw new IllegalArgumentException(file + " is not valid JSON: " + e.getMessage(), e);
        }
    }

    /** A JSON value as strings, lists and maps; null for a missing key or null. */
    private static Object plain(Path file, JsonNode v, String key) {
        if (v.isMissingNode() || v.isNull()) {
            return null;
        }
        try {
            return JSON.treeToValue(v, Object.class);
        } catch (IOException e) {
            throw bad(file, key, "cannot be read: " + e.getMessage());
        }
    }

    /** lora_alpha as PEFT writes it: an integer when it is one. */
    private static Object number(double x) {
        return x == Math.rint(x) && Math.abs(x) < 1e15 ? (Object) (long) x : (Object) x;
    }

    private interface Check {
        boolean unsupported(JsonNode value);
    }

    private static void refuse(Path file, JsonNode c, String key, Check check, String why) {
        if (c.has(key) && check.unsupported(c.get(key))) {
            throw bad(file, key, "is " + c.get(key) + ": " + why);
        }
    }

    private static JsonNode require(Path file, JsonNode c, String key) {
        if (!c.has(key)) {
            throw bad(file, key, "is missing");
        }
        return c.get(key);
    }

    private static int positiveInt(Path file, JsonNode c, String key) {
        JsonNode v = require(file, c, key);
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() <= 0) {
            throw bad(file, key, "must be a positive integer, got " + v);
        }
        return v.asInt();
    }

    private static double number(Path file, JsonNode v, String key) {
        if (!v.isNumber()) {
            throw bad(file, key, "must be a number, got " + v);
        }
        return v.asDouble();
    }

    private static boolean bool(Path file, JsonNode c, String key) {
        JsonNode v = c.path(key);
        if (v.isMissingNode() || v.isNull()) {
            return false;
        }
        if (!v.isBoolean()) {
            throw bad(file, key, "must be true or false, got " + v);
        }
        return v.asBoolean();
    }

    /** null, one integer, or a list of integers. */
    private static List<Integer> intList(Path file, JsonNode v, String key) {
        List<Integer> out = new ArrayList<>();
        for (JsonNode e : v.isArray() ? v : List.of(v)) {
            if (e.isMissingNode() || e.isNull()) {
                continue;
            }
            if (!e.isIntegralNumber() || !e.canConvertToInt()) {
                throw bad(file, key, "must be an integer or a list of integers, got " + v);
            }
            out.add(e.asInt());
        }
        return out;
    }

    /** null, one string, or a list of strings. */
    private static List<String> stringList(Path file, JsonNode v, String key) {
        List<String> out = new ArrayList<>();
        for (JsonNode e : v.isArray() ? v : List.of(v)) {
            if (e.isMissingNode() || e.isNull()) {
                continue;
            }
            if (!e.isTextual()) {
                throw bad(file, key, "must be a string or a list of strings, got " + v);
            }
            out.add(e.asText());
        }
        return out;
    }

    private static Map<String, Integer> ranks(Path file, JsonNode v) {
        Map<String, Integer> out = new LinkedHashMap<>();
        patterns(file, v, "rank_pattern").forEach((k, e) -> {
            if (!e.isIntegralNumber() || !e.canConvertToInt()) {
                throw bad(file, "rank_pattern['" + k + "']", "must be an integer, got " + e);
            }
            out.put(k, e.asInt());
        });
        return out;
    }

    private static Map<String, Double> alphas(Path file, JsonNode v) {
        Map<String, Double> out = new LinkedHashMap<>();
        patterns(file, v, "alpha_pattern").forEach((k, e) -> out.put(k, number(file, e, "alpha_pattern['" + k + "']")));
        return out;
    }

    private static Map<String, JsonNode> patterns(Path file, JsonNode v, String key) {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        if (v.isMissingNode() || v.isNull()) {
            return out;
        }
        if (!v.isObject()) {
            throw bad(file, key, "must be an object of pattern: value, got " + v);
        }
        v.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    private static IllegalArgumentException bad(Path file, String key, String what) {
        return new IllegalArgumentException(file + ": " + key + " " + what);
    }
}
