// SPDX-License-Identifier: Apache-2.0
package spindle.layers.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.data.HfConfig;

/** The config keys of published checkpoints: Qwen2's and Llama's biases, head_dim, and keys refused by value. */
class PublishedConfigsTest {
    private static HfConfig llamaWith(String extra) {
        return config("llama", extra);
    }

    private static HfConfig config(String modelType, String extra) {
        return HfConfig.parse(json(modelType, extra), "cfg.json");
    }

    private static String json(String modelType, String extra) {
        return """
            {"model_type": "%s", "vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 1,
             "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 24,
             "max_position_embeddings": 32%s}""".formatted(modelType, extra);
    }

    @Test
    void qwen2HasBiasesOnQkvOnlyAndATiedHead() {
        CausalLm m = CausalLms.fromHfConfig(config("qwen2", ", \"tie_word_embeddings\": true"), DataType.DOUBLE, 1);
        Set<String> keys = m.stateDict().keySet();
        for (String p : new String[] {"q_proj", "k_proj", "v_proj"}) {
            assertTrue(keys.contains("model.layers.0.self_attn." + p + ".bias"), p);
        }
        assertFalse(keys.contains("model.layers.0.self_attn.o_proj.bias"));
        assertFalse(keys.contains("lm_head.weight"));
        assertEquals("qwen2", m.modelType());
    }

    @Test
    void llamaAttentionBiasPutsBiasesOnAllFourAndHeadDimSetsTheirSizes() {
        CausalLm m = CausalLms.fromHfConfig(llamaWith(", \"attention_bias\": true, \"head_dim\": 8"), DataType.DOUBLE, 1);
        var state = m.stateDict();
        for (String p : new String[] {"q_proj", "k_proj", "v_proj", "o_proj"}) {
            assertTrue(state.containsKey("model.layers.0.self_attn." + p + ".bias"), p);
        }
        assertArrayEquals(new long[] {32, 16}, state.get("model.layers.0.self_attn.q_proj.weight").shape());   // 4 * 8
        assertArrayEquals(new long[] {16, 16}, state.get("model.layers.0.self_attn.k_proj.weight").shape());   // 2 * 8
        assertArrayEquals(new long[] {16, 32}, state.get("model.layers.0.self_attn.o_proj.weight").shape());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "\"hidden_act\": \"gelu\" | hidden_act \"gelu\" is not supported",
        "\"mlp_bias\": true | mlp_bias true is not supported",
        "\"attention_dropout\": 0.1 | attention_dropout 0.1 is not supported",
        "\"use_sliding_window\": true | use_sliding_window true is not supported",
        "\"rope_scaling\": {\"type\": \"yarn\", \"factor\": 4} | rope_scaling.rope_type \"yarn\" is not supported"})
    void aKeyThatWouldChangeTheMathIsRefusedNamingKeyValueAndFile(String entry, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> CausalLms.fromHfConfig(llamaWith(", " + entry), DataType.FLOAT, 1));
        assertTrue(e.getMessage().startsWith("cfg.json: ") && e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void aQuantizedCheckpointIsRefusedByTheFloatLoader(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
        throws java.io.IOException {
        CausalLm m = CausalLms.fromHfConfig(llamaWith(""), DataType.FLOAT, 1);
        spindle.layers.StateFiles.saveModel(m, dir, 1 << 20);
        java.nio.file.Files.writeString(dir.resolve("config.json"),
            json("llama", ", \"quantization_config\": {\"quant_method\": \"fp8\"}"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> CausalLms.fromPretrained(dir, DataType.FLOAT));
        assertTrue(e.getMessage().contains("quantization_config {quant_method=fp8} is not supported"), e.getMessage());
    }

    @Test
    void neutralValuesAreAccepted() {
        CausalLms.fromHfConfig(llamaWith(", \"hidden_act\": \"silu\", \"mlp_bias\": false, \"attention_dropout\": 0.0,"
            + " \"use_sliding_window\": false, \"rope_scaling\": null, \"torch_dtype\": \"bfloat16\""), DataType.FLOAT, 1);
    }

    @Test
    void everyKeyAFamilyReadsIsListedByConfigKeys() {
        for (HfConfig c : new HfConfig[] {TinyConfigs.llama(true), config("qwen2", ""),
            TinyConfigs.deepseek("null")}) {
            CausalLms.fromHfConfig(c, DataType.FLOAT, 1);
            Set<String> unlisted = new TreeSet<>();
            for (String k : c.keysRead()) {
                if (!k.contains(".") && !ConfigKeys.read(c.string("model_type")).contains(k)) {
                    unlisted.add(k);
                }
            }
            assertEquals(Set.of(), unlisted, c.string("model_type") + " reads keys ConfigKeys does not list");
        }
    }
}
