// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.data.Safetensors;
import spindle.layers.qat.QatModels;

/**
 * {@code spindle parity} on {@code torch_ref.py export --qat} fixtures: a float64 training step of a model whose
 * projections are fake-quantized (torchao numerics) gives PyTorch's loss within 1e-10 and every gradient within
 * rel 1e-8, and Spindle quantizes exactly the modules torch_ref does. The shared configs (8da4w, group 32, which
 * skips the 688-input down projections) and small variants for the other schemes and group sizes, MoE and
 * tied embeddings (the tied head is fake-quantized on the embedding's weight, as torchao does) included. Spindle's
 * convert of the same weights equals torchao's conversion (converted.safetensors): identical codes, the same
 * quantized modules, scales and zeros within 1e-12.
 */
class QatParityTest {
    private static final Path WORK = Path.of("target", "qat-parity");

    static Stream<Named<String>> configs() {
        return Stream.of("tiny-llama", "tiny-deepseek", "llama-int4wo-g16", "llama-int8wo", "deepseek-int4wo-g8",
            "deepseek-8da4w-g64", "llama-tied-8da4w", "llama-tied-int4wo-g16").map(n -> Named.of(n, n));
    }

    @ParameterizedTest
    @MethodSource("configs")
    void matchesPyTorch(String name) throws IOException {
        Path dir = TorchExports.export(WORK, name, variant(name), "--qat");
        ParityCheck.Result result = ParityCheck.run(dir);
        System.out.println("QatParityTest " + name + ": " + result.toJson());
        assertTrue(result.passes(), name + ": " + result.toJson());
        TreeSet<String> quantized = new TreeSet<>(QatModels.fromPretrained(dir, DataType.DOUBLE).quantized());
        TreeSet<String> expected = new TreeSet<>();
        TorchExports.JSON.readTree(dir.resolve("expected.json").toFile()).get("qat_modules").forEach(n -> expected.add(n.asText()));
        assertEquals(expected, quantized, name + ": fake-quantized modules");
        ConvertCheck.Result convert = ConvertCheck.run(dir);
        System.out.println("QatParityTest " + name + " convert: " + convert.toJson());
        assertTrue(convert.passes(), name + ": " + convert.toJson());
    }

    @Test
    void aConversionDifferingInOneCodeOrOneScaleFails() throws IOException {
        Path dir = TorchExports.export(WORK, "llama-int4wo-tampered", small("tiny-llama", "int4wo", 16, c -> { }), "--qat");
        Path file = dir.resolve(ConvertCheck.CONVERTED);
        Map<String, INDArray> ref = new LinkedHashMap<>(Safetensors.read(file));
        String codes = "model.layers.1.mlp.up_proj.weight";
        ref.get(codes).putScalar(0, 0, (ref.get(codes).getInt(0, 0) + 1) % 16);
        Safetensors.write(file, ref, null);
        ConvertCheck.Result result = ConvertCheck.run(dir);
        assertEquals(1, result.codeMismatches(), result.toJson());
        assertFalse(result.passes());

        ref.get(codes).putScalar(0, 0, (ref.get(codes).getInt(0, 0) + 15) % 16);
        String zeros = "model.layers.0.self_attn.o_proj.zeros";
        ref.get(zeros).putScalar(1, 0, ref.get(zeros).getDouble(1, 0) + 1e-9);
        Safetensors.write(file, ref, null);
        result = ConvertCheck.run(dir);
        assertEquals(0, result.codeMismatches(), result.toJson());
        assertEquals(zeros, result.worst(), result.toJson());
        assertFalse(result.passes(), result.toJson());

        ref.remove(zeros);
        Safetensors.write(file, ref, null);
        result = ConvertCheck.run(dir);
        assertTrue(result.problem().contains(zeros), result.toJson());
        assertFalse(result.passes());
    }

    private static ObjectNode variant(String name) throws IOException {
        return switch (name) {
            case "tiny-llama", "tiny-deepseek" -> TorchExports.shared(name);
            case "llama-int4wo-g16" -> small("tiny-llama", "int4wo", 16, c -> { });
            case "llama-int8wo" -> small("tiny-llama", "int8wo", 32, c -> c.put("intermediate_size", 72));
            case "deepseek-int4wo-g8" -> small("tiny-deepseek", "int4wo", 8, c -> c.put("n_shared_experts", 1));
            case "deepseek-8da4w-g64" -> small("tiny-deepseek", "8da4w", 64, c -> { });
            case "llama-tied-8da4w" -> small("tiny-llama", "8da4w", 32, c -> c.put("tie_word_embeddings", true));
            case "llama-tied-int4wo-g16" -> small("tiny-llama", "int4wo", 16, c -> c.put("tie_word_embeddings", true));
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
