// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code spindle parity} on {@code torch_ref.py export --qat --lora} fixtures (torchtune's QAT-LoRA): the frozen
 * base fake-quantized with torchao's numerics, the adapters in float on the unquantized input. A float64 step
 * gives PyTorch's loss within 1e-10 and every adapter gradient within rel 1e-8, and Spindle's convert of the base
 * equals torchao's. The shared configs' "lora" and "qat" sections, and variants: all-linear on a tied model with a
 * group that skips the down projections (their adapters still train, on a float base), DoRA on int4 weight-only,
 * rsLoRA on routed and shared experts.
 */
class QatLoraParityTest {
    private static final Path WORK = Path.of("target", "qat-lora-parity");

    static Stream<Named<String>> configs() {
        return Stream.of("tiny-llama", "tiny-deepseek", "llama-tied-all-linear-g64", "llama-int4wo-dora",
            "deepseek-experts-rslora").map(n -> Named.of(n, n));
    }

    @ParameterizedTest
    @MethodSource("configs")
    void matchesPyTorch(String name) throws IOException {
        Path dir = TorchExports.export(WORK, name, variant(name), "--qat", "--lora");
        ParityCheck.Result result = ParityCheck.run(dir);
        System.out.println("QatLoraParityTest " + name + ": " + result.toJson());
        assertTrue(result.passes(), name + ": " + result.toJson());
        ConvertCheck.Result convert = ConvertCheck.run(dir);
        assertTrue(convert.passes(), name + " convert: " + convert.toJson());
    }

    private static ObjectNode variant(String name) throws IOException {
        return switch (name) {
            case "tiny-llama", "tiny-deepseek" -> TorchExports.shared(name);
            case "llama-tied-all-linear-g64" -> small("tiny-llama", "8da4w", 64, c -> {
                c.put("tie_word_embeddings", true);
                c.putObject("lora").put("targets", "all-linear").put("r", 4).put("alpha", 8);
            });
            case "llama-int4wo-dora" -> small("tiny-llama", "int4wo", 16, c -> c.putObject("lora").put("r", 4)
                .put("alpha", 8).put("use_dora", true).putArray("targets").add("q_proj").add("down_proj"));
            case "deepseek-experts-rslora" -> small("tiny-deepseek", "8da4w", 16, c -> c.putObject("lora").put("r", 4)
                .put("alpha", 8).put("use_rslora", true).putArray("targets").add("gate_proj").add("up_proj").add("down_proj"));
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** A shrunk shared config with its own "qat" section, then changed by {@code change}. */
    private static ObjectNode small(String base, String scheme, int group, Consumer<ObjectNode> change) throws IOException {
        return TorchExports.small(base, c -> {
            c.putObject("qat").put("scheme", scheme).put("group_size", group);
            change.accept(c);
        });
    }
}
