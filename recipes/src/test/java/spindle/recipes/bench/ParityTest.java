// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code spindle parity} on fixtures PyTorch exports in this run ({@code torch_ref.py export}): the two shared
 * configs, and variants the shared ones do not cover (MQA, MHA with tied embeddings, MLA without query
 * compression, other expert counts, top-k, shared experts and scaling).
 */
class ParityTest {
    private static final Path WORK = Path.of("target", "parity");

    static Stream<Named<String>> configs() {
        return Stream.of("tiny-llama", "tiny-deepseek", "llama-mqa", "llama-mha-tied", "deepseek-plain-q",
            "deepseek-experts-6-top-3").map(n -> Named.of(n, n));
    }

    @ParameterizedTest
    @MethodSource("configs")
    void matchesPyTorch(String name) throws IOException {
        Path dir = TorchExports.export(WORK, name, variant(name));
        ParityCheck.Result result = ParityCheck.run(dir);
        assertTrue(result.passes(), name + ": " + result.toJson());
    }

    private static ObjectNode variant(String name) throws IOException {
        return switch (name) {
            case "tiny-llama", "tiny-deepseek" -> TorchExports.shared(name);
            case "llama-mqa" -> TorchExports.small("tiny-llama", c -> c.put("num_key_value_heads", 1).put("rope_theta", 500000.0));
            case "llama-mha-tied" -> TorchExports.small("tiny-llama", c -> c.put("num_attention_heads", 4)
                .put("num_key_value_heads", 4).put("tie_word_embeddings", true));
            case "deepseek-plain-q" -> TorchExports.small("tiny-deepseek", c -> c.putNull("q_lora_rank"));
            case "deepseek-experts-6-top-3" -> TorchExports.small("tiny-deepseek", c -> c.put("n_routed_experts", 6)
                .put("num_experts_per_tok", 3).put("n_shared_experts", 2).put("first_k_dense_replace", 0)
                .put("norm_topk_prob", false).put("routed_scaling_factor", 2.5).put("aux_loss_alpha", 0.1));
            default -> throw new IllegalArgumentException(name);
        };
    }
}
