// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.data.HfConfig;
import spindle.layers.Init;
import spindle.layers.lora.AdaptedModel;
import spindle.layers.lora.LoraConfig;
import spindle.layers.lora.LoraLinearFactory;
import spindle.layers.lora.LoraModels;
import spindle.layers.models.CausalLms;

/**
 * Causal LMs for QAT + LoRA (torchtune's QAT-LoRA): the linears the LoRA config targets become adapters whose
 * frozen product is fake-quantized ({@link QatBaseProduct}), every other linear a {@link QatLinear} as in
 * {@link QatModels} (skipped ones stay float), a tied head is fake-quantized too; only the adapters train. After
 * training, {@link AdaptedModel#mergedState()} is the plain checkpoint to convert.
 */
public final class QatLoraModels {
    private QatLoraModels() {}

    /** An adapted, fake-quantized model and the linears left float (with their reasons). */
    public record Prepared(AdaptedModel adapted, List<String> skipped) {}

    /** The model of config.json with {@code init} base weights and adapters drawn from {@code adapterRng}. */
    public static Prepared fromHfConfig(HfConfig config, DataType dtype, QatConfig qat, LoraConfig lora, Init init,
                                        SplittableRandom adapterRng) {
        QatBaseProduct product = new QatBaseProduct(qat);
        QatLinearFactory others = new QatLinearFactory(dtype, init, qat.scheme(), qat.groupSize());
        var linears = new LoraLinearFactory(lora, dtype, init, adapterRng, product, others);
        AdaptedModel adapted = LoraModels.build(config, dtype, init, linears);
        List<String> skipped = new ArrayList<>(others.skipped());
        adapted.adapters().forEach((name, a) -> {
            int in = (int) a.weight().shape()[1];
            if (!product.quantizes(in)) {
                skipped.add(name + " (in_features " + in + " not divisible by group_size " + qat.groupSize() + ")");
            }
        });
        QatTiedHead.attach(adapted.model(), config, qat).ifPresent(skipped::add);
        return new Prepared(adapted, List.copyOf(skipped));
    }

    /** A base model directory (config.json, model.safetensors or its shards) with fresh adapters from {@code seed}. */
    public static Prepared fromPretrained(Path dir, DataType dtype, QatConfig qat, LoraConfig lora, long seed) {
        CausalLms.requireWeights(dir);   // model.safetensors, or shards with their index
        HfConfig config = HfConfig.read(dir.resolve("config.json"));
        Prepared prepared = fromHfConfig(config, dtype, qat, lora, Init.zeros(), new SplittableRandom(seed));
        LoraModels.loadBase(prepared.adapted(), dir);
        return prepared;
    }
}
