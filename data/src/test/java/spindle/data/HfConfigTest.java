// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

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
}
