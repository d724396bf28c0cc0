// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.data.HfConfig;
import spindle.data.ShardIndex;
import spindle.data.WeightFiles;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;

/** A LoRA base in the published layout: bf16 weights in shards with model.safetensors.index.json. */
class ShardedBaseTest {
    private static final String CONFIG = "{\"model_type\": \"llama\", \"vocab_size\": 40, \"hidden_size\": 16,"
        + " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2,"
        + " \"intermediate_size\": 24, \"max_position_embeddings\": 32}";

    @Test
    void loadsShardedBf16BaseWeightsExactly(@TempDir Path dir) throws Exception {
        CausalLm plain = CausalLms.fromHfConfig(HfConfig.parse(CONFIG, "cfg"), DataType.FLOAT, 4);
        Map<String, INDArray> bf16 = new LinkedHashMap<>();
        plain.stateDict().forEach((k, v) -> bf16.put(k, v.castTo(DataType.BFLOAT16)));
        WeightFiles.write(dir, bf16, null, 2000);
        Files.writeString(dir.resolve("config.json"), CONFIG);
        assertTrue(ShardIndex.read(dir.resolve(ShardIndex.FILE)).shards().size() > 2);

        AdaptedModel adapted = LoraModels.fromPretrained(dir, DataType.DOUBLE,
            LoraConfig.of(2, 4, TargetModules.names("q_proj", "v_proj")), 1);
        Map<String, INDArray> base = adapted.baseState();
        bf16.forEach((k, v) -> assertEquals(v.castTo(DataType.DOUBLE), base.get(k), k));
    }
}
