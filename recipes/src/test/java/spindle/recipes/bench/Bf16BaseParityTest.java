// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.Tensor;
import spindle.data.Batch;
import spindle.data.Safetensors;
import spindle.layers.lora.AdaptedModel;
import spindle.layers.lora.AdapterWeights;
import spindle.layers.lora.LoraModels;
import spindle.layers.lora.PeftAdapters;
import spindle.trainers.LanguageModeling;

/**
 * A LoRA base kept in bf16 computes in float32 exactly what the same bf16 file loaded into float32 computes: on
 * {@code torch_ref.py export --bf16 --shards 2 --lora} directories, one step's loss and every adapter gradient are
 * compared between the two (bf16 widens to float32 exactly, so they agree to the bit; the bound is 1e-6).
 */
class Bf16BaseParityTest {
    private static final Path WORK = Path.of("target", "bf16-base");
    private static final double TOLERANCE = 1e-6;

    static Stream<Named<String>> configs() {
        return Stream.of("tiny-llama", "deepseek-all-linear-dora", "qwen2-tied-all-linear").map(n -> Named.of(n, n));
    }

    @ParameterizedTest
    @MethodSource("configs")
    void lossAndAdapterGradientsEqualFloat32Bases(String name) throws IOException {
        Path dir = TorchExports.export(WORK, name, variant(name), "--bf16", "--shards", "2", "--lora");
        AdaptedModel f32 = LoraModels.fromPretrained(dir, DataType.FLOAT, PeftAdapters.config(dir), 0);
        AdaptedModel bf16 = LoraModels.fromPretrained(dir, DataType.FLOAT, DataType.BFLOAT16, PeftAdapters.config(dir), 0);
        bf16.baseState().forEach((key, v) -> assertEquals(v.rank() == 2 ? DataType.BFLOAT16 : DataType.FLOAT,
            v.dataType(), key));
        double f32Loss = step(f32, dir);
        double bf16Loss = step(bf16, dir);
        assertTrue(Math.abs(f32Loss - bf16Loss) <= TOLERANCE * Math.abs(f32Loss), name + ": loss " + bf16Loss
            + " with a bf16 base, " + f32Loss + " with float32");
        Map<String, Tensor> expected = AdapterWeights.peftParameters(f32.model());
        Map<String, Tensor> actual = AdapterWeights.peftParameters(bf16.model());
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((key, p) -> {
            INDArray want = p.grad();
            INDArray got = actual.get(key).grad();
            double err = got.sub(want).amaxNumber().doubleValue();
            double scale = Math.max(want.amaxNumber().doubleValue(), 1e-30);
            assertTrue(err <= TOLERANCE * scale, name + ": d/d " + key + " differs by " + err + " (largest " + scale + ")");
        });
    }

    /** One forward and backward of the export's batch; returns the loss. */
    private static double step(AdaptedModel adapted, Path dir) throws IOException {
        PeftAdapters.load(adapted, dir);
        Map<String, INDArray> batch = Safetensors.read(dir.resolve("batch.safetensors"));
        Tensor loss = new LanguageModeling(adapted.model()).loss(new Batch(batch.get("tokens"), batch.get("targets"))).loss();
        loss.backward();
        return loss.item();
    }

    private static ObjectNode variant(String name) throws IOException {
        return switch (name) {
            case "tiny-llama" -> TorchExports.small("tiny-llama", c -> { });
            case "deepseek-all-linear-dora" -> TorchExports.small("tiny-deepseek", c -> c.putObject("lora")
                .put("targets", "all-linear").put("r", 4).put("alpha", 8).put("use_dora", true));
            case "qwen2-tied-all-linear" -> TorchExports.small("tiny-llama", c -> {
                c.put("model_type", "qwen2").put("tie_word_embeddings", true);
                c.putObject("lora").put("targets", "all-linear").put("r", 4).put("alpha", 8);
            });
            default -> throw new IllegalArgumentException(name);
        };
    }
}
