// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.data.HfConfig;
import spindle.data.ShardIndex;
import spindle.data.WeightFiles;
import spindle.layers.Init;
import spindle.layers.Linear;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;

/**
 * Loads a model directory written by {@link QatConvert}: config.json with a {@value QatConvert#CONFIG_KEY}
 * and model.safetensors (or shards with their index) with int8 codes. Every linear the scheme quantizes becomes a {@link QuantizedLinear};
 * the rest load as they are. A file that does not fit (a code of the wrong dtype, shape or range, a missing
 * scale) is an error naming the file and the tensor.
 */
public final class QuantizedModels {
    private QuantizedModels() {}

    /** True when {@code dir}'s config.json records a Spindle QAT conversion. */
    public static boolean isConverted(Path dir) {
        Path file = dir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            return false;
        }
        try {
            JsonNode q = new ObjectMapper().readTree(file.toFile()).path(QatConvert.CONFIG_KEY);
            return QatConvert.QUANT_METHOD.equals(q.path("quant_method").asText(null));
        } catch (IOException e) {
            return false;   // not JSON: the plain loader reports it with its own error
        }
    }

    /** The scheme and group size a converted config.json records; errors name the file and the key. */
    public static QatConfig scheme(Path configFile) {
        JsonNode q;
        try {
            q = new ObjectMapper().readTree(configFile.toFile()).path(QatConvert.CONFIG_KEY);
        } catch (IOException e) {
            throw new IllegalArgumentException(configFile + ": cannot read: " + e.getMessage(), e);
        }
        String key = QatConvert.CONFIG_KEY;
        if (!q.path("scheme").isTextual()) {
            throw new IllegalArgumentException(configFile + ": key " + key + ".scheme (a string such as \"8da4w\") is missing");
        }
        if (!q.path("group_size").canConvertToInt() || !q.path("group_size").isIntegralNumber()) {
            throw new IllegalArgumentException(configFile + ": key " + key + ".group_size must be an integer but is "
                + q.path("group_size"));
        }
        try {
            return new QatConfig(QatScheme.parse(q.get("scheme").asText()), q.get("group_size").asInt());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(configFile + ": " + key + ": " + e.getMessage(), e);
        }
    }

    /**
     * A model directory for inference: a converted one with quantized linears, one prepared for QAT (qat.json)
     * fake-quantized, any other plain ({@link CausalLms#fromPretrained}).
     */
    public static CausalLm loadAny(Path dir, DataType dtype) {
        if (isConverted(dir)) {
            return fromPretrained(dir, dtype);
        }
        return QatModels.isQat(dir) ? QatModels.fromPretrained(dir, dtype).model() : CausalLms.fromPretrained(dir, dtype);
    }

    /** The converted model in {@code dir}, its quantized linears dequantized once, ready for inference. */
    public static CausalLm fromPretrained(Path dir, DataType dtype) {
        Path configFile = dir.resolve("config.json");
        CausalLms.requireWeights(dir);   // model.safetensors, or shards with their index
        Path weights = dir.resolve(Files.isRegularFile(dir.resolve(ShardIndex.FILE)) ? ShardIndex.FILE : WeightFiles.SINGLE);
        QatConfig qat = scheme(configFile);
        HfConfig config = HfConfig.read(configFile);
        CausalLm model = CausalLms.fromHfConfig(config, dtype, (name, in, out, bias) -> qat.scheme().qualifies(in, qat.groupSize())
            ? new QuantizedLinear(in, out, bias, dtype, qat.scheme(), qat.groupSize())
            : new Linear(in, out, bias, dtype, Init.zeros()), Init.zeros());
        Map<String, INDArray> state;
        try {
            state = WeightFiles.read(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + weights, e);
        }
        model.namedModules().forEach((name, m) -> {
            if (m instanceof QuantizedLinear q) {
                ConvertedTensors.check(weights, name, q, state);
            }
        });
        try {
            model.loadStateDict(state, true);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(weights + ": " + e.getMessage(), e);
        }
        model.namedModules().values().forEach(m -> {
            if (m instanceof QuantizedLinear q) {
                q.refresh();
            }
        });
        return model;
    }
}
