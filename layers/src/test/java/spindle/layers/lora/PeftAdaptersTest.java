// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.GradMode;
import spindle.data.Safetensors;
import spindle.layers.Init;

/** A PEFT adapter directory written from an adapted model loads back, over the same base, into the same model. */
class PeftAdaptersTest {
    @TempDir
    Path dir;

    @Test
    void savedDirectoryLoadsToTheSameModelAndLogits() throws IOException {
        LoraConfig config = LoraConfig.of(4, 8, TargetModules.names("q_b_proj", "kv_b_proj", "gate_proj", "down_proj"))
            .withDora(true).withRslora(true);
        AdaptedModel saved = LoraModels.fromHfConfig(LoraFixtures.deepseek(), DataType.DOUBLE, config, 3);
        perturb(saved, 5);
        Path base = writeBase(saved, LoraFixtures.deepseekJson());
        Path adapter = dir.resolve("adapter");
        PeftAdapters.save(saved, config, base.toString(), adapter);
        assertTrue(PeftAdapters.isAdapterDir(adapter));
        assertFalse(PeftAdapters.isAdapterDir(base));

        AdaptedModel loaded = PeftAdapters.fromPretrained(base, adapter, DataType.DOUBLE);
        Map<String, INDArray> want = saved.model().stateDict();
        Map<String, INDArray> got = loaded.model().stateDict();
        assertEquals(want.keySet(), got.keySet());
        want.forEach((k, v) -> assertEquals(0.0, v.sub(got.get(k)).amaxNumber().doubleValue(), k));
        INDArray a = saved.model().forward(LoraModelsTest.ids(), null).logits().value();
        INDArray b = loaded.model().forward(LoraModelsTest.ids(), null).logits().value();
        assertEquals(0.0, a.sub(b).amaxNumber().doubleValue(), "same logits");
        assertEquals(saved.model().trainableParameterCount(), loaded.model().trainableParameterCount());
    }

    @Test
    void tensorsAreStoredInTheBaseDtype() throws IOException {
        LoraConfig config = LoraConfig.of(2, 4, TargetModules.names("q_proj", "v_proj"));
        AdaptedModel model = LoraModels.fromHfConfig(LoraFixtures.llama(false), DataType.FLOAT, config, 1);
        PeftAdapters.save(model, config, null, dir);
        Map<String, INDArray> stored = Safetensors.read(dir.resolve(AdapterWeights.FILE));
        assertEquals(8, stored.size(), stored.keySet().toString());
        stored.values().forEach(t -> assertEquals(DataType.FLOAT, t.dataType()));
    }

    @Test
    void aConfigThatDoesNotFitTheTensorsIsAnErrorNamingKeyAndShapes() throws IOException {
        LoraConfig config = LoraConfig.of(4, 8, TargetModules.names("q_proj"));
        AdaptedModel saved = LoraModels.fromHfConfig(LoraFixtures.llama(false), DataType.DOUBLE, config, 3);
        Path base = writeBase(saved, LoraFixtures.llamaJson(false));
        Path adapter = dir.resolve("adapter");
        PeftAdapters.save(saved, config, null, adapter);
        AdapterConfigFile.write(adapter.resolve(AdapterConfigFile.FILE), LoraConfig.of(2, 8, TargetModules.names("q_proj")), null);
        String msg = assertThrows(IllegalArgumentException.class,
            () -> PeftAdapters.fromPretrained(base, adapter, DataType.DOUBLE)).getMessage();
        assertTrue(msg.contains("'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight' has shape [4, 16]"
            + " but the model's is [2, 16]"), msg);
        String none = assertThrows(IllegalArgumentException.class,
            () -> PeftAdapters.fromPretrained(base, base, DataType.DOUBLE)).getMessage();
        assertTrue(none.contains("has no adapter_config.json"), none);
    }

    /** config.json and model.safetensors of the adapted model's base. */
    private Path writeBase(AdaptedModel model, String configJson) throws IOException {
        Path base = Files.createDirectories(dir.resolve("base"));
        Files.writeString(base.resolve("config.json"), configJson);
        Safetensors.write(base.resolve("model.safetensors"), model.baseState(), null);
        return base;
    }

    /** Non-zero B and a magnitude away from the row norms, so every adapter tensor matters. */
    private static void perturb(AdaptedModel model, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        try (GradMode.Scope off = GradMode.disable()) {
            model.adapters().values().forEach(a -> {
                a.loraB().weight().mutate(b -> b.assign(Init.normal(0, 0.3, rng).create(b.dataType(), b.shape())));
                if (a.magnitude() != null) {
                    a.magnitude().mutate(m -> m.muli(Init.uniform(0.5, rng).create(m.dataType(), m.shape()).addi(1)));
                }
            });
        }
    }
}
