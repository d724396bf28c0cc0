// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code spindle parity} on checkpoints in the published layout ({@code torch_ref.py export --bf16 --shards 2}:
 * bf16 weights in two shards with model.safetensors.index.json): the shared configs and the config keys of
 * published families (Qwen2 tied, head_dim, attention_bias, rope_scaling linear and llama3, MQA).
 */
class PublishedCheckpointParityTest {
    private static final Path WORK = Path.of("target", "parity-published");
    private static final String[] PUBLISHED = {"--bf16", "--shards", "2"};

    static Stream<Named<String>> configs() {
        return Stream.of("tiny-llama", "tiny-deepseek", "qwen2-tied", "llama-head-dim", "llama-attention-bias",
            "llama-rope-linear", "llama-rope-llama3", "llama-mqa").map(n -> Named.of(n, n));
    }

    @ParameterizedTest
    @MethodSource("configs")
    void matchesPyTorch(String name) throws IOException {
        Path dir = TorchExports.export(WORK, name, variant(name), PUBLISHED);
        assertTrue(Files.isRegularFile(dir.resolve("model-00002-of-00002.safetensors")), "exported in two shards");
        ParityCheck.Result result = ParityCheck.run(dir);
        assertTrue(result.passes(), name + ": " + result.toJson());
    }

    @Test
    void aMissingShardIsAnErrorNamingIt() throws IOException {
        Path dir = TorchExports.export(WORK, "missing-shard", variant("llama-mqa"), PUBLISHED);
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ParityCheck.run(dir));
        assertTrue(e.getMessage().contains("names shard model-00002-of-00002.safetensors (for tensor model.layers.")
            && e.getMessage().contains("does not exist"), e.getMessage());
    }

    @Test
    void anUnknownRopeScalingTypeIsAnErrorNamingIt() throws IOException {
        Path dir = TorchExports.export(WORK, "rope-yarn", variant("llama-mqa"), PUBLISHED);
        // torch_ref computes linear and llama3 only: the config is changed after the export
        ObjectNode config = (ObjectNode) TorchExports.JSON.readTree(dir.resolve("config.json").toFile());
        config.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0);
        TorchExports.JSON.writeValue(dir.resolve("config.json").toFile(), config);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ParityCheck.run(dir));
        assertTrue(e.getMessage().contains("rope_scaling.rope_type \"yarn\" is not supported"), e.getMessage());
    }

    private static ObjectNode variant(String name) throws IOException {
        return switch (name) {
            case "tiny-llama", "tiny-deepseek" -> TorchExports.shared(name);
            case "qwen2-tied" -> TorchExports.small("tiny-llama", c -> c.put("model_type", "qwen2")
                .put("tie_word_embeddings", true).put("rope_theta", 1e6));
            case "llama-head-dim" -> TorchExports.small("tiny-llama", c -> c.put("num_attention_heads", 4)
                .put("num_key_value_heads", 2).put("head_dim", 32));   // 4 * 32 = 128 query channels, hidden 64
            case "llama-attention-bias" -> TorchExports.small("tiny-llama", c -> c.put("attention_bias", true));
            case "llama-rope-linear" -> TorchExports.small("tiny-llama", c -> c.putObject("rope_scaling")
                .put("type", "linear").put("factor", 4.0));
            // head_dim 16: wavelengths 6.3 .. 19869, so original 256 with factors 1 and 4 keeps three, blends one
            // (199) and divides four (RopeScalingTest checks the bands)
            case "llama-rope-llama3" -> TorchExports.small("tiny-llama", c -> c.put("num_attention_heads", 4)
                .put("num_key_value_heads", 2).putObject("rope_scaling").put("rope_type", "llama3").put("factor", 8.0)
                .put("low_freq_factor", 1.0).put("high_freq_factor", 4.0).put("original_max_position_embeddings", 256));
            case "llama-mqa" -> TorchExports.small("tiny-llama", c -> c.put("num_key_value_heads", 1));
            default -> throw new IllegalArgumentException(name);
        };
    }
}
