// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.data.HfConfig;
import spindle.data.Safetensors;
import spindle.data.ShardIndex;
import spindle.data.WeightFiles;
import spindle.layers.models.CausalLms;

/** A converted directory that does not fit its model is an error naming the file and the tensor or key. */
class QuantizedModelsTest {
    private static final String Q = "model.layers.0.self_attn.q_proj";

    @TempDir
    Path dir;
    private Path weights;

    @BeforeEach
    void convert() {
        HfConfig config = QatConvertTest.llama(false);
        QatConvert.write(CausalLms.fromHfConfig(config, DataType.FLOAT, 1), config,
            new QatConfig(QatScheme.INT4_WEIGHT_ONLY, 16), dir);
        weights = dir.resolve("model.safetensors");
    }

    @Test
    void loadsFromShardsAsFromOneFile() throws IOException {
        Map<String, INDArray> single = QuantizedModels.fromPretrained(dir, DataType.FLOAT).stateDict();
        WeightFiles.write(dir, Safetensors.read(weights), Safetensors.metadata(weights), 3000);
        assertFalse(Files.exists(weights), "the shards replace model.safetensors");
        assertTrue(ShardIndex.read(dir.resolve(ShardIndex.FILE)).shards().size() > 1);
        Map<String, INDArray> sharded = QuantizedModels.fromPretrained(dir, DataType.FLOAT).stateDict();
        assertEquals(single.keySet(), sharded.keySet());
        single.forEach((k, v) -> assertEquals(v, sharded.get(k), k));
    }

    @Test
    void floatWeightsUnderAQuantizationConfigAreRefused() throws IOException {
        edit(t -> t.put(Q + ".weight", Nd4j.zeros(DataType.FLOAT, 32, 32)));
        assertFails(Q + ".weight", "I8", "FLOAT");
    }

    @Test
    void codesOutsideTheSchemesRangeAreRefused() throws IOException {
        edit(t -> t.get(Q + ".weight").putScalar(3, 1, 16));
        assertFails(Q + ".weight", "[0, 16]", "[0, 15]");
    }

    @Test
    void missingOrMisshapenScalesAndZerosAreNamed() throws IOException {
        edit(t -> t.remove(Q + ".scales"));
        assertFails(Q + ".scales", "missing");
        convert();
        edit(t -> t.put(Q + ".zeros", Nd4j.zeros(DataType.FLOAT, 32, 1)));
        assertFails(Q + ".zeros", "[32, 1]", "[32, 2]");
        convert();
        edit(t -> t.get(Q + ".scales").putScalar(0, 0, 0f));
        assertFails(Q + ".scales", "positive");
    }

    @Test
    void aMissingOrUnknownSchemeIsNamed() throws IOException {
        Path config = dir.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"int4wo\"", "\"int3\""));
        String msg = assertThrows(IllegalArgumentException.class, () -> QuantizedModels.fromPretrained(dir, DataType.FLOAT)).getMessage();
        assertTrue(msg.contains(config.toString()) && msg.contains("int3") && msg.contains("8da4w"), msg);
        Files.writeString(config, Files.readString(config).replace("\"group_size\" : 16", "\"group_size\" : \"16\""));
        msg = assertThrows(IllegalArgumentException.class, () -> QuantizedModels.scheme(config)).getMessage();
        assertTrue(msg.contains("quantization_config.group_size"), msg);
        Files.writeString(config, Files.readString(config).replace("\"spindle_qat\"", "\"gptq\""));
        assertFalse(QuantizedModels.isConverted(dir), "another quant_method is not a Spindle conversion");
    }

    private void edit(Consumer<Map<String, INDArray>> change) throws IOException {
        Map<String, INDArray> t = new LinkedHashMap<>(Safetensors.read(weights));
        change.accept(t);
        Safetensors.write(weights, t, null);
    }

    private void assertFails(String... parts) {
        String msg = assertThrows(IllegalArgumentException.class, () -> QuantizedModels.fromPretrained(dir, DataType.FLOAT)).getMessage();
        assertTrue(msg.contains(weights.toString()), msg);
        for (String part : parts) {
            assertTrue(msg.contains(part), "'" + part + "' not in: " + msg);
        }
    }
}
