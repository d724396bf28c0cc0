// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import spindle.layers.lora.LoraConfig;
import spindle.layers.lora.TargetModules;

/**
 * The "lora" section of a bench config, as torch_ref.py reads it: {@code targets} (a list of module names or
 * "all-linear"), {@code r}, {@code alpha}, and optional {@code use_rslora} and {@code use_dora}.
 */
final class BenchLora {
    private BenchLora() {}

    /** The section of {@code configFile} as a LoRA config; a missing section or key is an error naming it. */
    static LoraConfig read(Path configFile) throws IOException {
        JsonNode lora = new ObjectMapper().readTree(configFile.toFile()).path("lora");
        if (!lora.isObject()) {
            throw new IllegalArgumentException(configFile + " has no \"lora\" section (targets, r, alpha) for --lora");
        }
        JsonNode targets = lora.path("targets");
        if (!(targets.isArray() || targets.isTextual() && targets.asText().equals(TargetModules.ALL_LINEAR))) {
            throw new IllegalArgumentException(configFile + ": lora.targets must be a list of module names or \""
                + TargetModules.ALL_LINEAR + "\", got " + targets);
        }
        TargetModules modules = TargetModules.parse(new ObjectMapper().treeToValue(targets, Object.class), "lora.targets");
        JsonNode r = lora.path("r");
        if (!r.isIntegralNumber()) {
            throw new IllegalArgumentException(configFile + ": lora.r must be an integer, got " + r);
        }
        return LoraConfig.of(r.asInt(), alpha(lora, configFile), modules)
            .withRslora(lora.path("use_rslora").asBoolean(false))
            .withDora(lora.path("use_dora").asBoolean(false));
    }

    private static double alpha(JsonNode lora, Path configFile) {
        JsonNode v = lora.path("alpha");
        if (!v.isNumber()) {
            throw new IllegalArgumentException(configFile + ": lora.alpha must be a number, got " + v);
        }
        return v.asDouble();
    }
}
