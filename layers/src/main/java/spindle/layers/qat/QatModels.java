// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.data.HfConfig;
import spindle.layers.Init;
import spindle.layers.StateFiles;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;

/**
 * Causal LMs whose projections are fake-quantized: every linear the model builds through its factory
 * (attention, dense, shared and routed experts, an untied lm_head; never the MoE router) becomes a
 * {@link QatLinear} when it qualifies, and the parameter names stay those of the plain model.
 */
public final class QatModels {
    /** The file beside config.json that marks a model directory as prepared for QAT. */
    public static final String QAT_JSON = "qat.json";

    private QatModels() {}

    /**
     * A prepared model, the fake-quantized linears by module name ("lm_head" for a tied head too) and the
     * projections left unquantized (with their reasons).
     */
    public record Prepared(CausalLm model, List<String> quantized, List<String> skipped) {}

    /** True when {@code dir} holds a {@value #QAT_JSON}. */
    public static boolean isQat(Path dir) {
        return Files.isRegularFile(dir.resolve(QAT_JSON));
    }

    /** The model of config.json, prepared with {@code qat}; weights are zero until loaded. */
    public static Prepared fromHfConfig(HfConfig config, DataType dtype, QatConfig qat) {
        QatLinearFactory linears = new QatLinearFactory(dtype, Init.zeros(), qat.scheme(), qat.groupSize());
        CausalLm model = CausalLms.fromHfConfig(config, dtype, linears, Init.zeros());
        List<String> skipped = new ArrayList<>(linears.skipped());
        List<String> quantized = new ArrayList<>();
        model.namedModules().forEach((name, m) -> {
            if (m instanceof QatLinear) {
                quantized.add(name);
            }
        });
        // torchao swaps the head for a QAT linear even when it shares the embedding's weight
        QatTiedHead.attach(model, config, qat).ifPresentOrElse(skipped::add, () -> {
            if (config.bool("tie_word_embeddings", false)) {
                quantized.add("lm_head");
            }
        });
        return new Prepared(model, List.copyOf(quantized), List.copyOf(skipped));
    }

    /** A model directory (config.json, model.safetensors or shards, qat.json) loaded strictly into a prepared model. */
    public static Prepared fromPretrained(Path dir, DataType dtype) {
        CausalLms.requireWeights(dir);
        QatConfig qat = QatConfig.read(dir.resolve(QAT_JSON));
        Prepared prepared = fromHfConfig(HfConfig.read(dir.resolve("config.json")), dtype, qat);
        StateFiles.loadModel(prepared.model(), dir, true);
        return prepared;
    }
}
