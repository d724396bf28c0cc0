// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.data.HfConfig;
import spindle.layers.Init;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;
import spindle.layers.qat.QatConfig;
import spindle.layers.qat.QatLoraModels;
import spindle.layers.qat.QatModels;
import spindle.layers.qat.QatScheme;

/**
 * The model of {@code bench --qat}: the bench config's model, seeded as the plain bench's, prepared with the
 * config's {@code "qat"} section (torch_ref.py's default 8da4w, group size 32, when it has none), as
 * {@code torch_ref.py bench CONFIG --qat} prepares it.
 */
final class QatBench {
    private QatBench() {}

    static CausalLm model(HfConfig hf, JsonNode configJson, long seed, Path configFile) {
        QatConfig qat = section(configJson.path("qat"), configFile);
        CausalLm model = QatModels.fromHfConfig(hf, DataType.FLOAT, qat).model();
        CausalLm init = CausalLms.fromHfConfig(hf, DataType.FLOAT, seed);
        model.loadStateDict(init.stateDict(), true);
        return model;
    }

    /**
     * The model of {@code bench --qat --lora} (torchtune's QAT-LoRA, as {@code torch_ref.py bench CONFIG --qat --lora}
     * builds it): the base prepared with the "qat" section and frozen, adapters from the "lora" section on its
     * targets, which fake-quantize their base path; seeded as the plain LoRA bench.
     */
    static CausalLm loraModel(HfConfig hf, JsonNode configJson, long seed, Path configFile) throws IOException {
        QatConfig qat = section(configJson.path("qat"), configFile);
        Init init = Init.normal(0, hf.real("initializer_range", 0.02), new SplittableRandom(seed));
        return QatLoraModels.fromHfConfig(hf, DataType.FLOAT, qat, BenchLora.read(configFile), init,
            new SplittableRandom(seed).split()).adapted().model();
    }

    private static QatConfig section(JsonNode qat, Path configFile) {
        if (qat.isMissingNode()) {
            return new QatConfig(QatScheme.INT8_DYN_ACT_INT4_WEIGHT, QatConfig.DEFAULT_GROUP_SIZE);
        }
        if (!qat.path("scheme").isTextual() || !(qat.path("group_size").isMissingNode() || qat.path("group_size").isInt())) {
            throw new IllegalArgumentException(configFile + ": the \"qat\" section needs a string \"scheme\" and an"
                + " optional integer \"group_size\" but is " + qat);
        }
        try {
            return new QatConfig(QatScheme.parse(qat.get("scheme").asText()),
                qat.path("group_size").asInt(QatConfig.DEFAULT_GROUP_SIZE));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(configFile + ": " + e.getMessage(), e);
        }
    }
}
