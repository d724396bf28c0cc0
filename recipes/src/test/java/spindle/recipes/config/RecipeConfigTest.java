// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import spindle.recipes.config.ConfigKey.Type;

/** Defaults, YAML sections, key=value overrides and the errors that name the key. */
class RecipeConfigTest {
    private static final List<ConfigKey> KEYS = List.of(
        ConfigKey.of("train.steps", Type.INT, 100, "optimizer steps"),
        ConfigKey.of("train.lr", Type.DOUBLE, 3e-4, "peak learning rate"),
        ConfigKey.of("train.compile", Type.BOOL, false, "a flag"),
        ConfigKey.of("model.config", Type.STRING, "tiny-llama", "preset or config.json"),
        ConfigKey.of("lora.targets", Type.STRING_LIST, List.of("q_proj"), "projections"),
        ConfigKey.optional("generate.prompt", Type.STRING, "prompt of the final sample"));

    @TempDir
    Path dir;

    @Test
    void yamlSectionsThenOverridesOverlayTheDefaults() throws IOException {
        Path yaml = Files.writeString(dir.resolve("c.yaml"), "train:\n  steps: 7\n  lr: 0.01\nlora:\n  targets: [q_proj, v_proj]\n");
        RecipeConfig c = RecipeConfig.load(KEYS, yaml, List.of("train.lr=0.5", "model.config=./my/config.json"));
        assertEquals(7, c.integer("train.steps"));
        assertEquals(0.5, c.real("train.lr"));
        assertEquals(false, c.bool("train.compile"));
        assertEquals("./my/config.json", c.string("model.config"));
        assertEquals(List.of("q_proj", "v_proj"), c.strings("lora.targets"));
        assertNull(c.string("generate.prompt"));
        assertEquals(List.of("o_proj", "k_proj"), RecipeConfig.load(KEYS, null, List.of("lora.targets=o_proj,k_proj"))
            .strings("lora.targets"));
        assertEquals(3, RecipeConfig.load(KEYS, null, List.of("train.lr=3")).real("train.lr"));
    }

    @Test
    void unknownKeysAndWrongTypesNameTheKey() throws IOException {
        var e = assertThrows(IllegalArgumentException.class, () -> RecipeConfig.load(KEYS, null, List.of("train.step=5")));
        assertTrue(e.getMessage().contains("'train.step'") && e.getMessage().contains("did you mean 'train.steps'"),
            e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> RecipeConfig.load(KEYS, null, List.of("train.steps=abc")));
        assertTrue(e.getMessage().contains("'train.steps'") && e.getMessage().contains("an integer"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> RecipeConfig.load(KEYS, null, List.of("train.steps=1.5")));
        assertTrue(e.getMessage().contains("train.steps"), e.getMessage());
        Path yaml = Files.writeString(dir.resolve("bad.yaml"), "train:\n  compile: 3\n");
        e = assertThrows(IllegalArgumentException.class, () -> RecipeConfig.load(KEYS, yaml, List.of()));
        assertTrue(e.getMessage().contains("train.compile") && e.getMessage().contains("bad.yaml"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> RecipeConfig.load(KEYS, null, List.of("noequals")));
        assertTrue(e.getMessage().contains("key=value"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> RecipeConfig.load(KEYS, dir.resolve("none.yaml"), List.of()));
        assertTrue(e.getMessage().contains("none.yaml"), e.getMessage());
    }

    @Test
    void helpListsEveryKeyWithItsDefault() {
        String help = RecipeConfig.help(KEYS);
        assertTrue(help.contains("train.steps") && help.contains("100") && help.contains("unset"), help);
    }
}
