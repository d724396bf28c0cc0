// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
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
import org.nd4j.linalg.factory.Nd4j;
import spindle.data.Safetensors;
import spindle.layers.lora.AdapterConfigFile;
import spindle.layers.lora.AdapterWeights;
import spindle.layers.lora.PeftAdapters;

/**
 * {@code spindle parity} on {@code torch_ref.py export --lora} fixtures (a frozen base, PEFT adapters with a
 * non-zero B and a perturbed DoRA magnitude, adapter_config.json and adapter_model.safetensors): a float64 step of
 * the base with the adapter directory loaded gives PyTorch's loss within 1e-10 and every adapter gradient (PEFT
 * names) within rel 1e-8, and Spindle adapts exactly the modules torch_ref does. The shared configs' "lora"
 * sections, and variants: rsLoRA, DoRA, "all-linear", dense, shared and routed expert projections, every MLA
 * projection (kv_b_proj included, and q_proj without query compression), tied embeddings.
 */
class LoraParityTest {
    private static final Path WORK = Path.of("target", "lora-parity");

    static Stream<Named<String>> configs() {
        return Stream.of("tiny-llama", "tiny-deepseek", "llama-rslora-qkvo", "llama-dora-mlp", "llama-all-linear",
            "llama-tied-all-linear-dora-rslora", "deepseek-experts", "deepseek-mla-dora", "deepseek-plain-q-rslora",
            "deepseek-all-linear-dora").map(n -> Named.of(n, n));
    }

    @ParameterizedTest
    @MethodSource("configs")
    void matchesPyTorch(String name) throws IOException {
        Path dir = TorchExports.export(WORK, name, variant(name), "--lora");
        ParityCheck.Result result = ParityCheck.run(dir);
        System.out.println("LoraParityTest " + name + ": " + result.toJson());
        assertTrue(result.passes(), name + ": " + result.toJson());
        TreeSet<String> adapted = new TreeSet<>();
        AdapterWeights.peftParameters(PeftAdapters.fromPretrained(dir, dir, DataType.DOUBLE).model()).keySet()
            .forEach(k -> adapted.add(k.substring(AdapterWeights.PREFIX.length(), k.indexOf(".lora_"))));
        TreeSet<String> expected = new TreeSet<>();
        TorchExports.JSON.readTree(dir.resolve("expected.json").toFile()).get("lora_modules").forEach(n -> expected.add(n.asText()));
        assertEquals(expected, adapted, name + ": adapted modules");
    }

    /** The check sees the adapter config (a scale PyTorch did not use fails) and every gradient PyTorch wrote. */
    @Test
    void aDifferentScaleOrAnUncheckedGradientFails() throws IOException {
        Path dir = TorchExports.export(WORK, "llama-negative", variant("llama-rslora-qkvo"), "--lora");
        Path config = dir.resolve(AdapterConfigFile.FILE);
        Files.writeString(config, Files.readString(config).replace("\"use_rslora\": true", "\"use_rslora\": false"));
        ParityCheck.Result plainScale = ParityCheck.run(dir);
        assertFalse(plainScale.passes(), plainScale.toJson());
        Files.writeString(config, Files.readString(config).replace("\"use_rslora\": false", "\"use_rslora\": true"));
        assertTrue(ParityCheck.run(dir).passes(), "restored config");

        Path grads = dir.resolve("grads.safetensors");
        Map<String, INDArray> withExtra = new LinkedHashMap<>(Safetensors.read(grads));
        withExtra.put("base_model.model.model.layers.0.mlp.up_proj.lora_A.weight", Nd4j.zeros(DataType.DOUBLE, 8, 64));
        Safetensors.write(grads, withExtra, null);
        ParityCheck.Result extra = ParityCheck.run(dir);
        assertFalse(extra.passes(), extra.toJson());
        assertEquals("base_model.model.model.layers.0.mlp.up_proj.lora_A.weight (no such parameter)", extra.worstParam());
    }

    private static ObjectNode variant(String name) throws IOException {
        return switch (name) {
            case "tiny-llama", "tiny-deepseek" -> TorchExports.shared(name);
            case "llama-rslora-qkvo" -> small("tiny-llama", lora -> lora.put("use_rslora", true).put("r", 4)
                .put("alpha", 7).putArray("targets").add("q_proj").add("k_proj").add("v_proj").add("o_proj"), c -> { });
            case "llama-dora-mlp" -> small("tiny-llama", lora -> lora.put("use_dora", true)
                .putArray("targets").add("gate_proj").add("up_proj").add("down_proj").add("o_proj"), c -> { });
            case "llama-all-linear" -> small("tiny-llama", lora -> lora.put("targets", "all-linear"), c -> { });
            case "llama-tied-all-linear-dora-rslora" -> small("tiny-llama", lora -> lora.put("targets", "all-linear")
                .put("use_dora", true).put("use_rslora", true), c -> c.put("tie_word_embeddings", true));
            case "deepseek-experts" -> small("tiny-deepseek", lora -> lora.putArray("targets").add("gate_proj")
                .add("up_proj").add("down_proj"), c -> c.put("n_shared_experts", 1));
            case "deepseek-mla-dora" -> small("tiny-deepseek", lora -> lora.put("use_dora", true).putArray("targets")
                .add("q_a_proj").add("q_b_proj").add("kv_a_proj_with_mqa").add("kv_b_proj").add("o_proj"), c -> { });
            case "deepseek-plain-q-rslora" -> small("tiny-deepseek", lora -> lora.put("use_rslora", true)
                .putArray("targets").add("q_proj").add("kv_b_proj"), c -> c.putNull("q_lora_rank"));
            case "deepseek-all-linear-dora" -> small("tiny-deepseek", lora -> lora.put("targets", "all-linear")
                .put("use_dora", true), c -> c.put("first_k_dense_replace", 0));
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** A shrunk shared config with a fresh "lora" section (r 8, alpha 16 unless changed) and other changes. */
    private static ObjectNode small(String base, Consumer<ObjectNode> lora, Consumer<ObjectNode> change) throws IOException {
        return TorchExports.small(base, c -> {
            lora.accept(c.putObject("lora").put("r", 8).put("alpha", 16));
            change.accept(c);
        });
    }
}
