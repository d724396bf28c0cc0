// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Typed reads of config.json keys, defaults, nulls, and errors naming key, source and value. */
class HfConfigTest {
    private final HfConfig c = HfConfig.parse("{\"hidden_size\": 64, \"rms_norm_eps\": 1e-6, \"q_lora_rank\": null,"
        + " \"tie_word_embeddings\": true, \"model_type\": \"llama\", \"scoring_func\": \"Sigmoid\", \"bad\": \"x\"}",
        "test config");

    enum Score { SOFTMAX, SIGMOID }

    @Test
    void typedValuesDefaultsAndNulls() {
        assertEquals(64, c.integer("hidden_size"));
        assertEquals(1e-6, c.real("rms_norm_eps"));
        assertEquals(64.0, c.real("hidden_size"));
        assertEquals(OptionalInt.empty(), c.optionalInteger("q_lora_rank"));
        assertEquals(OptionalInt.of(64), c.optionalInteger("hidden_size"));
        assertTrue(c.bool("tie_word_embeddings", false));
        assertEquals(8, c.integer("num_key_value_heads", 8));
        assertEquals("llama", c.string("model_type"));
        assertEquals(Score.SIGMOID, c.enumValue("scoring_func", Score.class, Score.SOFTMAX));
        assertEquals(Score.SOFTMAX, c.enumValue("absent", Score.class, Score.SOFTMAX));
        assertFalse(c.has("q_lora_rank"));
        assertEquals(64, c.asMap().get("hidden_size"));
    }

    @Test
    void errorsNameKeySourceAndValue() {
        var e = assertThrows(IllegalArgumentException.class, () -> c.integer("vocab_size"));
        assertTrue(e.getMessage().contains("test config") && e.getMessage().contains("vocab_size"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> c.integer("rms_norm_eps"));
        assertTrue(e.getMessage().contains("rms_norm_eps must be an integer"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> c.enumValue("bad", Score.class, Score.SOFTMAX));
        assertTrue(e.getMessage().contains("[softmax, sigmoid]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> c.bool("model_type", false));
        assertTrue(e.getMessage().contains("model_type must be true or false"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> HfConfig.parse("{oops", "broken.json"));
        assertTrue(e.getMessage().contains("broken.json"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> HfConfig.read(Path.of("no/such/config.json")));
        assertTrue(e.getMessage().contains("no/such/config.json"), e.getMessage());
    }

    @Test
    void readsAFileAndNamesItInErrors(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("config.json"), "{\"num_attention_heads\": 4, \"rope_scaling\":"
            + " {\"type\": \"yarn\", \"factor\": 40}, \"architectures\": [\"LlamaForCausalLM\"], \"head_dim\": 64.0}");
        HfConfig f = HfConfig.read(file);
        assertEquals(4, f.integer("num_attention_heads"));
        assertEquals(file.toString(), f.source());
        assertEquals(Map.of("type", "yarn", "factor", 40), f.asMap().get("rope_scaling"));
        assertEquals(List.of("LlamaForCausalLM"), f.asMap().get("architectures"));
        var e = assertThrows(IllegalArgumentException.class, () -> f.integer("head_dim"));
        assertMessage(e, file.toString(), "head_dim must be an integer but is 64.0");
        e = assertThrows(IllegalArgumentException.class, () -> f.string("rope_scaling"));
        assertMessage(e, file.toString(), "rope_scaling must be a string but is {\"type\":\"yarn\",\"factor\":40}");

        Path broken = Files.writeString(dir.resolve("broken.json"), "{\"a\": }");
        e = assertThrows(IllegalArgumentException.class, () -> HfConfig.read(broken));
        assertMessage(e, broken.toString(), "not valid JSON");
        Path list = Files.writeString(dir.resolve("list.json"), "[1]");
        e = assertThrows(IllegalArgumentException.class, () -> HfConfig.read(list));
        assertMessage(e, list.toString(), "must be a JSON object");
    }

    @Test
    void everyGetterNamesKeyExpectedTypeAndFoundValue() {
        HfConfig bad = HfConfig.parse("{\"n\": \"12\", \"big\": 3000000000, \"flag\": 1, \"gone\": null,"
            + " \"act\": \"gelu\", \"eps\": true}", "bad.json");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> bad.integer("n")),
            "bad.json", "n must be an integer but is \"12\"");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> bad.integer("n", 3)),
            "bad.json", "n must be an integer");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> bad.optionalInteger("big")),
            "bad.json", "big must be an integer but is 3000000000");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> bad.bool("flag", true)),
            "bad.json", "flag must be true or false but is 1");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> bad.real("eps")),
            "bad.json", "eps must be a number but is true");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> bad.real("eps", 1e-5)),
            "bad.json", "eps must be a number");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> bad.string("big", "x")),
            "bad.json", "big must be a string but is 3000000000");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> bad.real("gone")),
            "bad.json", "required key gone is null");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> bad.string("absent")),
            "bad.json", "required key absent is missing");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> bad.enumValue("act", Score.class, Score.SOFTMAX)),
            "bad.json", "act must be one of [softmax, sigmoid] but is \"gelu\"");
        assertEquals(7, bad.integer("gone", 7));
        assertEquals(OptionalInt.empty(), bad.optionalInteger("absent"));
        assertEquals(2.5, bad.real("absent", 2.5));
        assertEquals("d", bad.string("gone", "d"));
        assertTrue(bad.has("n"));
    }

    @Test
    void sectionsNameTheirKeysWithThePrefixAndEveryReadKeyIsRecorded() {
        HfConfig cfg = HfConfig.parse("{\"rope_scaling\": {\"factor\": \"x\", \"type\": \"linear\"},"
            + " \"hidden_size\": 8, \"flat\": 3}", "cfg.json");
        HfConfig rope = cfg.section("rope_scaling").orElseThrow();
        assertEquals("linear", rope.string("type"));
        assertMessage(assertThrows(IllegalArgumentException.class, () -> rope.real("factor")),
            "cfg.json: rope_scaling.factor must be a number but is \"x\"");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> rope.real("low_freq_factor")),
            "required key rope_scaling.low_freq_factor is missing");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> cfg.section("flat")),
            "flat must be a JSON object but is 3");
        assertTrue(cfg.section("absent").isEmpty());
        assertEquals(java.util.List.of("rope_scaling", "hidden_size", "flat"), cfg.keys());
        assertEquals(java.util.Set.of("rope_scaling", "rope_scaling.type", "rope_scaling.factor",
            "rope_scaling.low_freq_factor", "flat", "absent"), cfg.keysRead());
    }

    private static void assertMessage(IllegalArgumentException e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "expected '" + p + "' in: " + e.getMessage());
        }
    }
}
