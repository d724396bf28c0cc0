// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.TapeBytes;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Elementwise;
import spindle.autograd.ops.Reductions;
import spindle.layers.Init;
import spindle.layers.Linear;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLmOutput;
import spindle.layers.models.CausalLms;

/**
 * Activation memory of LoRA training: an adapter adds only its rank-r product to what the tape keeps, so a
 * model with frozen base and adapters keeps less than the same model trained in full.
 */
class LoraTapeTest {
    private static final DataType F32 = DataType.FLOAT;

    @Test
    void anAdaptedLinearKeepsTheBasesOutputAndTheRankRProductOnly() {
        SplittableRandom rng = new SplittableRandom(1);
        Linear base = new Linear(32, 48, true, F32, Init.normal(0, 0.5, rng));
        LoraLinear lora = new LoraLinear(base, LoraOptions.lora(4, 8), rng);
        Tensor x = Tensor.of(Init.normal(0, 1, rng).create(F32, 2, 8, 32)).requiresGrad(true);
        long rows = 2 * 8;
        assertEquals((rows * 48 + rows * 4) * Float.BYTES, TapeBytes.of(lora.forward(x)));
    }

    /** The shared deepseek bench config's targets on a tiny DeepSeek-V3 (MLA, dense and MoE layers). */
    @Test
    void loraOnMlaProjectionsKeepsLessThanFullTraining() {
        LoraConfig targets = LoraConfig.of(2, 4, TargetModules.parse(List.of("q_b_proj", "kv_b_proj", "o_proj"),
            "targets"));
        long lora = tapeBytes(LoraModels.fromHfConfig(LoraFixtures.deepseek(), F32, targets, 3).model());
        long full = tapeBytes(CausalLms.fromHfConfig(LoraFixtures.deepseek(), F32, 3));
        assertTrue(lora < full, "LoRA keeps " + lora + " bytes on the tape, full training " + full);
    }

    private static long tapeBytes(CausalLm model) {
        model.train();
        INDArray ids = Nd4j.createFromArray(new long[] {1, 5, 9, 13, 17, 21, 25, 29, 2, 6, 10, 14, 18, 22, 26, 30})
            .reshape(2, 8);
        CausalLmOutput out = model.forward(Tensor.of(ids), null);
        return TapeBytes.of(Elementwise.add(Reductions.sum(out.logits()), out.balanceLoss()));
    }
}
