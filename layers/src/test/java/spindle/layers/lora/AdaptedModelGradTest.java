// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import static spindle.autograd.ops.Elementwise.add;
import static spindle.autograd.ops.Elementwise.mul;
import static spindle.autograd.ops.Reductions.sum;

import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.GradCheckOptions;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.layers.Init;
import spindle.layers.ModuleGradCheck;
import spindle.layers.models.CausalLmOutput;

/**
 * Float64 central-difference checks of whole adapted models with dropout off: every adapter's A and B (LoRA,
 * rsLoRA) on every linear of a tiny Llama and a tiny DeepSeek-V3 (MLA, dense, shared and routed experts), and
 * DoRA's magnitudes (A and B held, so the detached norm is constant and the live forward is the checked one).
 * The objective is sum(logits ⊙ R) + balance loss with R fixed.
 */
class AdaptedModelGradTest {
    static final DataType F64 = DataType.DOUBLE;

    static Stream<Named<AdaptedModel>> models() {
        LoraConfig all = LoraConfig.of(2, 3, TargetModules.allLinear());
        return Stream.of(
            Named.of("llama, LoRA on all linears", adapted(LoraFixtures.llama(false), all)),
            Named.of("llama tied, rsLoRA on q/v", adapted(LoraFixtures.llama(true),
                LoraConfig.of(3, 2, TargetModules.names("q_proj", "v_proj")).withRslora(true))),
            Named.of("deepseek, LoRA on all linears", adapted(LoraFixtures.deepseek(), all)));
    }

    /** An adapted model whose every B is random, so A's gradient is not hidden behind B = 0. */
    static AdaptedModel adapted(spindle.data.HfConfig config, LoraConfig lora) {
        AdaptedModel m = LoraModels.fromHfConfig(config, F64, lora, 7);
        SplittableRandom rng = new SplittableRandom(8);
        try (GradMode.Scope off = GradMode.disable()) {
            m.adapters().values().forEach(a -> a.loraB().weight()
                .mutate(b -> b.assign(Init.normal(0, 0.3, rng).create(F64, b.shape()))));
        }
        return m;
    }

    static Supplier<Tensor> objective(AdaptedModel m) {
        Tensor ids = LoraModelsTest.ids();
        INDArray r = Init.normal(0, 1, new SplittableRandom(9)).create(F64, 2, 5, 40);
        return () -> {
            CausalLmOutput out = m.model().forward(ids, null);
            return add(sum(mul(out.logits(), Tensor.of(r))), out.balanceLoss());
        };
    }

    /** Two elements of each adapter matrix: every adapter is reached, and a model-size run stays short. */
    static final GradCheckOptions FEW = GradCheckOptions.defaults().withMaxElementsPerInput(2);

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void adapterGradientsMatchCentralDifferences(AdaptedModel m) {
        ModuleGradCheck.assertMatches(m.model(), objective(m), FEW);
    }

    @Test
    void doraMagnitudesMatchCentralDifferences() {
        AdaptedModel m = adapted(LoraFixtures.deepseek(), LoraConfig.of(2, 3, TargetModules.names("kv_b_proj",
            "q_b_proj", "up_proj")).withDora(true));
        try (GradMode.Scope off = GradMode.disable()) {
            SplittableRandom rng = new SplittableRandom(10);
            m.adapters().values().forEach(a -> a.magnitude().mutate(v -> v.muli(
                Init.uniform(0.5, rng).create(F64, v.shape()).addi(1))));
        }
        m.adapters().values().forEach(a -> {
            a.loraA().freeze();
            a.loraB().freeze();
        });
        ModuleGradCheck.assertMatches(m.model(), objective(m), FEW);
    }
}
