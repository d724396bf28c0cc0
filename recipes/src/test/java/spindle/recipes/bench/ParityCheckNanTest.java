// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static spindle.autograd.ops.Elementwise.add;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Losses;
import spindle.autograd.ops.Shapes;
import spindle.data.HfConfig;
import spindle.data.Safetensors;
import spindle.layers.StateFiles;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLmOutput;
import spindle.layers.models.CausalLms;

/**
 * {@link ParityCheck} on a fixture whose reference numbers are this model's own (so it passes as written), then
 * with a NaN put into one reference gradient: a NaN error must fail the check wherever the parameter comes.
 */
class ParityCheckNanTest {
    private static final String CONFIG = "{\"model_type\": \"llama\", \"vocab_size\": 32, \"hidden_size\": 16,"
        + " \"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"num_key_value_heads\": 1,"
        + " \"intermediate_size\": 24, \"max_position_embeddings\": 16}";

    @TempDir
    Path dir;
    private Map<String, INDArray> grads;
    private List<String> names;

    @BeforeEach
    void writeSelfConsistentFixture() throws IOException {
        Files.writeString(dir.resolve("config.json"), CONFIG);
        StateFiles.save(CausalLms.fromHfConfig(HfConfig.parse(CONFIG, "test config"), DataType.DOUBLE, 3),
            dir.resolve("model.safetensors"));
        INDArray tokens = Nd4j.createFromArray(new long[][] {{1, 5, 9, 2, 7, 30}, {4, 4, 0, 31, 12, 6}});
        INDArray targets = Nd4j.createFromArray(new long[][] {{5, 9, 2, 7, 30, 1}, {4, 0, 31, 12, 6, 8}});
        Safetensors.write(dir.resolve("batch.safetensors"), Map.of("tokens", tokens, "targets", targets), Map.of());

        CausalLm model = CausalLms.fromPretrained(dir, DataType.DOUBLE);
        CausalLmOutput out = model.forward(Tensor.of(tokens), null);
        Tensor ce = Losses.crossEntropy(Shapes.reshape(out.logits(), -1, 32), Shapes.reshape(Tensor.of(targets), -1));
        Tensor loss = add(ce, out.balanceLoss());
        loss.backward();
        Files.writeString(dir.resolve("expected.json"),
            "{\"cross_entropy\": " + loss.item() + ", \"aux_loss\": 0.0}");
        grads = new LinkedHashMap<>();
        model.namedParameters().forEach((name, p) -> grads.put(name, p.grad().dup()));
        names = new ArrayList<>(grads.keySet());
        writeGrads();
    }

    @Test
    void theFixturePassesAsWritten() throws IOException {
        ParityCheck.Result result = ParityCheck.run(dir);
        assertTrue(result.passes(), result.toJson());
    }

    @Test
    void aNanGradientInALaterParameterFails() throws IOException {
        String last = names.get(names.size() - 1);
        grads.get(last).putScalar(0, Double.NaN);
        writeGrads();
        ParityCheck.Result result = ParityCheck.run(dir);
        assertFalse(result.passes(), result.toJson());
        assertEquals(last, result.worstParam());
        assertTrue(Double.isNaN(result.maxGradRelErr()), result.toJson());
        var line = new com.fasterxml.jackson.databind.ObjectMapper().readTree(result.toJson());   // still valid JSON
        assertEquals("NaN", line.get("max_grad_rel_err").asText());
        assertFalse(line.get("pass").asBoolean());
    }

    @Test
    void aNanInTheFirstParameterStaysTheWorst() throws IOException {
        grads.get(names.get(0)).putScalar(0, Double.NaN);
        writeGrads();
        ParityCheck.Result result = ParityCheck.run(dir);
        assertFalse(result.passes(), result.toJson());
        assertEquals(names.get(0), result.worstParam());
    }

    @Test
    void aMissingExpectedKeyNamesTheKeyAndTheFile() throws IOException {
        Files.writeString(dir.resolve("expected.json"), "{\"cross_entropy\": 3.4}");
        var e = assertThrows(IllegalArgumentException.class, () -> ParityCheck.run(dir));
        assertTrue(e.getMessage().contains("expected.json") && e.getMessage().contains("\"aux_loss\""), e.getMessage());
    }

    private void writeGrads() throws IOException {
        Safetensors.write(dir.resolve("grads.safetensors"), grads, Map.of());
    }
}
