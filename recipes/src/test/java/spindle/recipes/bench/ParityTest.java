// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import spindle.testing.PyTorch;

/**
 * {@code spindle parity} on fixtures PyTorch exports in this run ({@code torch_ref.py export}): the two shared
 * configs, and variants the shared ones do not cover (MQA, MHA with tied embeddings, MLA without query
 * compression, other expert counts, top-k, shared experts and scaling).
 */
class ParityTest {
    private static final Path BENCH = Path.of("..", "..", "shared", "bench");
    private static final Path WORK = Path.of("target", "parity");
    private static final ObjectMapper JSON = new ObjectMapper();

    static Stream<Named<String>> configs() {
        return Stream.of("tiny-llama", "tiny-deepseek", "llama-mqa", "llama-mha-tied", "deepseek-plain-q",
            "deepseek-experts-6-top-3").map(n -> Named.of(n, n));
    }

    @ParameterizedTest
    @MethodSource("configs")
    void matchesPyTorch(String name) throws IOException {
        Path dir = export(name);
        ParityCheck.Result result = ParityCheck.run(dir);
        assertTrue(result.passes(), name + ": " + result.toJson());
    }

    /** Writes the config {@code name}, runs torch_ref.py export on it and returns the fixture directory. */
    private static Path export(String name) throws IOException {
        Path script = BENCH.resolve("torch_ref.py");
        Optional<String> why = PyTorch.unavailable(Files.isRegularFile(script) ? null : "no " + script + " beside the repository");
        assumeTrue(why.isEmpty(), () -> "PyTorch parity skipped: " + why.orElseThrow());
        Files.createDirectories(WORK);
        Path config = WORK.resolve(name + ".json");
        JSON.writerWithDefaultPrettyPrinter().writeValue(config.toFile(), variant(name));
        Path out = WORK.resolve(name);
        PyTorch.run(script, 600, "export", config.toString(), out.toString());
        return out;
    }

    private static ObjectNode variant(String name) throws IOException {
        return switch (name) {
            case "tiny-llama", "tiny-deepseek" -> read(name);
            case "llama-mqa" -> small("tiny-llama", c -> c.put("num_key_value_heads", 1).put("rope_theta", 500000.0));
            case "llama-mha-tied" -> small("tiny-llama", c -> c.put("num_attention_heads", 4)
                .put("num_key_value_heads", 4).put("tie_word_embeddings", true));
            case "deepseek-plain-q" -> small("tiny-deepseek", c -> c.putNull("q_lora_rank"));
            case "deepseek-experts-6-top-3" -> small("tiny-deepseek", c -> c.put("n_routed_experts", 6)
                .put("num_experts_per_tok", 3).put("n_shared_experts", 2).put("first_k_dense_replace", 0)
                .put("norm_topk_prob", false).put("routed_scaling_factor", 2.5).put("aux_loss_alpha", 0.1));
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** A shared config shrunk so the variant runs in a second or two, then changed by {@code change}. */
    private static ObjectNode small(String base, Consumer<ObjectNode> change) throws IOException {
        ObjectNode c = read(base);
        c.put("vocab_size", 96).put("hidden_size", 64).put("num_hidden_layers", 2).put("intermediate_size", 96)
            .put("max_position_embeddings", 32);
        if (c.has("kv_lora_rank")) {
            c.put("q_lora_rank", 24).put("kv_lora_rank", 16).put("qk_nope_head_dim", 8).put("qk_rope_head_dim", 4)
                .put("v_head_dim", 8).put("moe_intermediate_size", 32);
        }
        change.accept(c);
        return c;
    }

    private static ObjectNode read(String name) throws IOException {
        return (ObjectNode) JSON.readTree(BENCH.resolve("configs").resolve(name + ".json").toFile());
    }

}
