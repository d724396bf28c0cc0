// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import spindle.data.HfConfig;

/** Resolves a recipe's {@code model.config}: a named preset shipped with Spindle, or a path to a config.json. */
final class ModelSpecs {
    static final List<String> PRESETS = List.of("demo-llama", "demo-deepseek", "tiny-llama", "tiny-deepseek");

    private ModelSpecs() {}

    static HfConfig resolve(String spec) throws IOException {
        if (PRESETS.contains(spec)) {
            try (InputStream in = ModelSpecs.class.getResourceAsStream("/spindle/presets/" + spec + ".json")) {
                return HfConfig.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "preset " + spec);
            }
        }
        Path file = Path.of(spec);
        if (Files.isDirectory(file)) {
            file = file.resolve("config.json");
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("model.config '" + spec + "' is neither a preset " + PRESETS
                + " nor an existing config.json (or a directory holding one)");
        }
        return HfConfig.read(file);
    }

    /** The JSON text of the config, to be written next to the trained weights. */
    static String json(HfConfig config) throws IOException {
        return new com.fasterxml.jackson.databind.ObjectMapper().writerWithDefaultPrettyPrinter()
            .writeValueAsString(config.asMap());
    }

    static void writeConfig(HfConfig config, Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), json(config), StandardCharsets.UTF_8);
    }
}
