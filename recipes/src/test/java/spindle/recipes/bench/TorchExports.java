// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Consumer;
import spindle.testing.PyTorch;

/**
 * Parity fixtures written by {@code torch_ref.py export} in this run: a shared benchmark config, or one shrunk
 * so a variant exports and checks in a second or two. Skips (or fails under SPINDLE_REQUIRE_TORCH=1) without
 * PyTorch or the script.
 */
final class TorchExports {
    private static final Path BENCH = Path.of("..", "..", "shared", "bench");
    static final ObjectMapper JSON = new ObjectMapper();

    private TorchExports() {}

    /** Writes {@code config} as WORK/NAME.json, exports it with {@code flags} (e.g. "--qat") and returns WORK/NAME. */
    static Path export(Path work, String name, ObjectNode config, String... flags) throws IOException {
        Path script = BENCH.resolve("torch_ref.py");
        Optional<String> why = PyTorch.unavailable(Files.isRegularFile(script) ? null : "no " + script + " beside the repository");
        assumeTrue(why.isEmpty(), () -> "PyTorch parity skipped: " + why.orElseThrow());
        Files.createDirectories(work);
        Path file = work.resolve(name + ".json");
        JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), config);
        Path out = work.resolve(name);
        String[] args = new String[3 + flags.length];
        args[0] = "export";
        args[1] = file.toString();
        args[2] = out.toString();
        System.arraycopy(flags, 0, args, 3, flags.length);
        PyTorch.run(script, 600, args);
        return out;
    }

    /** The shared config {@code name} (tiny-llama, tiny-deepseek). */
    static ObjectNode shared(String name) throws IOException {
        return (ObjectNode) JSON.readTree(BENCH.resolve("configs").resolve(name + ".json").toFile());
    }

    /** The shared config {@code base} shrunk to 2 layers of width 64, then changed by {@code change}. */
    static ObjectNode small(String base, Consumer<ObjectNode> change) throws IOException {
        ObjectNode c = shared(base);
        c.put("vocab_size", 96).put("hidden_size", 64).put("num_hidden_layers", 2).put("intermediate_size", 96)
            .put("max_position_embeddings", 32);
        if (c.has("kv_lora_rank")) {
            c.put("q_lora_rank", 24).put("kv_lora_rank", 16).put("qk_nope_head_dim", 8).put("qk_rope_head_dim", 4)
                .put("v_head_dim", 8).put("moe_intermediate_size", 32);
        }
        change.accept(c);
        return c;
    }
}
