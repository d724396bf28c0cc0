// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import spindle.recipes.config.ConfigKey;
import spindle.recipes.config.RecipeConfig;

/** The YAML files shipped in recipes/configs load, and set only keys whose value differs from the recipe's default. */
class ConfigFilesTest {
    @Test
    void everyShippedConfigSetsOnlyWhatDiffersFromTheDefaults() throws IOException {
        List<Path> files;
        try (Stream<Path> list = Files.list(Path.of("configs"))) {
            files = list.filter(p -> p.toString().endsWith(".yaml")).toList();
        }
        assertFalse(files.isEmpty(), "no YAML config in " + Path.of("configs").toAbsolutePath());
        for (Path file : files) {
            String name = file.getFileName().toString();
            List<ConfigKey> recipe = name.startsWith("pretrain") ? Pretrain.KEYS : name.startsWith("qat") ? Qat.KEYS
                : name.startsWith("finetune") ? Finetune.KEYS : null;
            assertTrue(recipe != null, file + ": no recipe reads it (pretrain*.yaml, qat*.yaml, finetune*.yaml)");
            Map<String, Object> defaults = RecipeConfig.load(recipe, null, List.of()).values();
            Map<String, Object> loaded = RecipeConfig.load(recipe, file, List.of()).values();
            List<String> repeated = new ArrayList<>();
            for (String key : keys(new ObjectMapper(new YAMLFactory()).readTree(file.toFile()), "")) {
                if (Objects.equals(loaded.get(key), defaults.get(key))) {
                    repeated.add(key + "=" + loaded.get(key));
                }
            }
            assertTrue(repeated.isEmpty(), file + " repeats defaults the recipe already declares: " + repeated);
        }
    }

    /** The dotted keys of the YAML's leaves. */
    private static List<String> keys(JsonNode node, String prefix) {
        List<String> out = new ArrayList<>();
        node.fields().forEachRemaining(f -> {
            if (f.getValue().isObject()) {
                out.addAll(keys(f.getValue(), prefix + f.getKey() + "."));
            } else {
                out.add(prefix + f.getKey());
            }
        });
        return out;
    }
}
