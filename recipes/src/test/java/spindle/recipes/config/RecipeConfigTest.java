// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

    private static final List<ConfigKey> BOUNDED = List.of(
        ConfigKey.of("train.lr", Type.DOUBLE, 3e-4, "peak learning rate").above(0),
        ConfigKey.of("train.eval_every", Type.INT, 10, "steps between evals").atLeast(0),
        ConfigKey.of("data.val_fraction", Type.DOUBLE, 0.05, "held out").above(0).below(1),
        ConfigKey.of("checkpoint.every", Type.INT, 10, "steps between checkpoints").atLeast(0));

    @Test
    void valuesOutsideTheBoundsNameTheKeyTheSourceAndTheBounds() throws IOException {
        var e = assertThrows(IllegalArgumentException.class, () -> RecipeConfig.load(BOUNDED, null, List.of("train.lr=-1")));
        assertEquals("config key 'train.lr' in the command line must be > 0 but is -1", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> RecipeConfig.load(BOUNDED, null, List.of("train.lr=0")));
        assertTrue(e.getMessage().contains("must be > 0 but is 0"), e.getMessage());
        assertFalse(BOUNDED.get(0).bounds().contains(Double.NaN), "NaN is inside no bounds");
        assertFalse(Bounds.ANY.contains(Double.POSITIVE_INFINITY), "nor is infinity");
        Path yaml = Files.writeString(dir.resolve("frac.yaml"), "data:\n  val_fraction: 1.0\n");
        e = assertThrows(IllegalArgumentException.class, () -> RecipeConfig.load(BOUNDED, yaml, List.of()));
        assertEquals("config key 'data.val_fraction' in " + yaml + " must be > 0 and < 1 but is 1.0", e.getMessage());
        RecipeConfig c = RecipeConfig.load(BOUNDED, null, List.of("train.eval_every=0", "data.val_fraction=0.5"));
        assertEquals(0, c.integer("train.eval_every"), "a bound's own end is inside when included");
        assertTrue(RecipeConfig.help(BOUNDED).contains("peak learning rate (> 0)"), RecipeConfig.help(BOUNDED));
    }

    @Test
    void aDefaultOutsideItsBoundsOrBoundsOnAStringAreMistakesOfTheRecipe() {
        var e = assertThrows(IllegalArgumentException.class, () -> ConfigKey.of("data.batch", Type.INT, 0, "rows").atLeast(1));
        assertTrue(e.getMessage().contains("data.batch") && e.getMessage().contains(">= 1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ConfigKey.of("output.dir", Type.STRING, "runs", "dir").atLeast(1));
    }

    @Test
    void aYamlSyntaxErrorNamesTheFileLineAndColumnInOneLine() throws IOException {
        Path yaml = Files.writeString(dir.resolve("broken.yaml"), "train:\n  lr: [1, 2\n  steps: 3\n");
        var e = assertThrows(IllegalArgumentException.class, () -> RecipeConfig.load(KEYS, yaml, List.of()));
        assertEquals("config file " + yaml + ", line 3, column 8: not valid YAML: expected ',' or ']', but got :"
            + " (while parsing a flow sequence at line 2, column 7)", e.getMessage());
        Path tabs = Files.writeString(dir.resolve("tabs.yaml"), "train:\n\tsteps: 3\n");
        e = assertThrows(IllegalArgumentException.class, () -> RecipeConfig.load(KEYS, tabs, List.of()));
        assertTrue(e.getMessage().startsWith("config file " + tabs + ", line 2, column 1: not valid YAML: found character"),
            e.getMessage());
        assertTrue(e.getMessage().lines().count() == 1, e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> RecipeConfig.load(KEYS, null, List.of("train.lr=[1")));
        assertTrue(e.getMessage().startsWith("override 'train.lr=[1'") && e.getMessage().contains("not valid YAML"),
            e.getMessage());
    }

    @Test
    void anUnknownKeyWhoseLastPartIsAKeysSuggestsThatKey() {
        for (String wrong : List.of("eval_every=5", "training.eval_every=5", "eval.eval_every=5")) {
            var e = assertThrows(IllegalArgumentException.class, () -> RecipeConfig.load(BOUNDED, null, List.of(wrong)));
            assertTrue(e.getMessage().contains("(did you mean 'train.eval_every'?)"), e.getMessage());
        }
        var e = assertThrows(IllegalArgumentException.class, () -> RecipeConfig.load(BOUNDED, null, List.of("every=5")));
        assertTrue(e.getMessage().contains("(did you mean 'checkpoint.every'?)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> RecipeConfig.load(KEYS, null, List.of("steps=5")));
        assertTrue(e.getMessage().contains("(did you mean 'train.steps'?)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> RecipeConfig.load(KEYS, null, List.of("zzzzzzzz=5")));
        assertTrue(!e.getMessage().contains("did you mean"), e.getMessage());
    }
}
