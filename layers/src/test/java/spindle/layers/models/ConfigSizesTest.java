// SPDX-License-Identifier: Apache-2.0
package spindle.layers.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.data.HfConfig;

/**
 * A config.json whose sizes cannot make a model is refused before anything is built, with one line naming the
 * file and the key(s): heads that do not divide hidden_size (unless head_dim is given), zero layers, a size <= 0.
 */
class ConfigSizesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void headsThatDoNotDivideHiddenSizeNameTheFileAndBothKeys() {
        String message = refusal(TinyConfigs.llama(false), c -> c.put("num_attention_heads", 3).put("num_key_value_heads", 1));
        assertTrue(message.contains("hidden_size (16)") && message.contains("num_attention_heads (3)")
            && message.contains("head_dim"), message);
    }

    @Test
    void aGivenHeadDimIsUsedWhenHeadsDoNotDivideHiddenSize() throws IOException {
        HfConfig config = write(TinyConfigs.llama(false), c -> c.put("num_attention_heads", 3).put("num_key_value_heads", 1)
            .put("head_dim", 4));
        CausalLm model = CausalLms.fromHfConfig(config, DataType.FLOAT, 0);
        assertArrayEquals(new long[] {12, 16}, model.stateDict().get("model.layers.0.self_attn.q_proj.weight").shape());
    }

    @Test
    void zeroLayersIsRefusedInBothFamilies() {
        for (HfConfig base : new HfConfig[] {TinyConfigs.llama(false), TinyConfigs.deepseek("12")}) {
            String message = refusal(base, c -> c.put("num_hidden_layers", 0));
            assertTrue(message.contains("num_hidden_layers must be positive but is 0"), message);
        }
    }

    static Stream<String> llamaSizes() {
        return Stream.of("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
            "head_dim", "intermediate_size", "max_position_embeddings");
    }

    @ParameterizedTest
    @MethodSource("llamaSizes")
    void aLlamaSizeOfZeroOrLessNamesTheFileAndKey(String key) {
        for (int bad : new int[] {0, -4}) {
            String message = refusal(TinyConfigs.llama(false), c -> c.put(key, bad));
            assertTrue(message.contains(key + " must be positive but is " + bad), message);
        }
    }

    static Stream<String> deepSeekSizes() {
        return Stream.of("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "q_lora_rank",
            "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", "intermediate_size",
            "max_position_embeddings", "moe_intermediate_size", "num_experts_per_tok");
    }

    @ParameterizedTest
    @MethodSource("deepSeekSizes")
    void aDeepSeekSizeOfZeroOrLessNamesTheFileAndKey(String key) {
        for (int bad : new int[] {0, -4}) {
            String message = refusal(TinyConfigs.deepseek("12"), c -> c.put(key, bad));
            assertTrue(message.contains(key) && message.contains(String.valueOf(bad)), message);
        }
    }

    @Test
    void negativeExpertCountsNameTheFileAndKey() {
        for (String key : new String[] {"n_routed_experts", "n_shared_experts", "first_k_dense_replace"}) {
            String message = refusal(TinyConfigs.deepseek("12"), c -> c.put(key, -1));
            assertTrue(message.contains(key) && message.contains("-1"), message);
        }
    }

    @Test
    void aMoeLayerFrequencyOfZeroNamesTheKey() {
        String message = refusal(TinyConfigs.deepseek("12"), c -> c.put("moe_layer_freq", 0));
        assertTrue(message.contains("moe_layer_freq must be positive but is 0"), message);
    }

    /** Writes {@code base} changed by {@code change} to config.json and returns the error building it gives. */
    private String refusal(HfConfig base, Consumer<ObjectNode> change) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> CausalLms.fromHfConfig(write(base, change), DataType.FLOAT, 0));
        Path file = dir.resolve("config.json");
        assertTrue(e.getMessage().startsWith(file + ": "), "the file is not named: " + e.getMessage());
        return e.getMessage();
    }

    private HfConfig write(HfConfig base, Consumer<ObjectNode> change) throws IOException {
        ObjectNode c = JSON.valueToTree(base.asMap());
        change.accept(c);
        Path file = dir.resolve("config.json");
        JSON.writeValue(file.toFile(), c);
        return HfConfig.read(file);
    }
}
