// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static spindle.layers.lora.LoraLinearTest.assertClose;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.GradMode;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;

/** Whole-model merge / unmerge, the refusing safe merge, and the state dicts: base, adapter and merged. */
class AdaptedModelTest {
    static AdaptedModel model(LoraConfig lora) {
        AdaptedModel m = AdaptedGenerationTest.model(new AdaptedGenerationTest.Case(LoraFixtures.deepseek(), lora, null));
        m.model().eval();
        return m;
    }

    static INDArray logits(CausalLm model) {
        try (GradMode.Scope off = GradMode.disable()) {
            return model.forward(LoraModelsTest.ids(), null).logits().value();
        }
    }

    static Map<String, INDArray> copies(Map<String, INDArray> state) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        state.forEach((k, v) -> out.put(k, v.dup()));
        return out;
    }

    @Test
    void mergeThenUnmergeIsTheIdentityOnEveryWeight() {
        for (boolean dora : List.of(false, true)) {
            AdaptedModel m = model(LoraConfig.of(2, 4, TargetModules.allLinear()).withDora(dora));
            Map<String, INDArray> before = copies(m.baseState());
            INDArray y = logits(m.model());
            m.merge();
            assertTrue(m.isMerged());
            assertClose("merged logits, dora " + dora, y, logits(m.model()), 1e-12);
            m.unmerge();
            assertFalse(m.isMerged());
            before.forEach((k, v) -> assertClose(k, v, m.baseState().get(k), 1e-12));
        }
    }

    @Test
    void safeMergeRefusesANonFiniteWeightNamingTheModuleAndLeavesTheModelUnmerged() {
        AdaptedModel m = model(LoraConfig.of(2, 4, TargetModules.allLinear()));
        String broken = "model.layers.1.mlp.experts.2.down_proj";
        try (GradMode.Scope off = GradMode.disable()) {
            m.adapters().get(broken).loraA().weight().mutate(a -> a.putScalar(0, Double.POSITIVE_INFINITY));
        }
        Map<String, INDArray> before = copies(m.baseState());
        IllegalStateException e = assertThrows(IllegalStateException.class, m::safeMerge);
        assertTrue(e.getMessage().contains(broken), e.getMessage());
        m.adapters().values().forEach(a -> assertFalse(a.isMerged()));
        before.forEach((k, v) -> assertClose(k, v, m.baseState().get(k), 1e-12));
    }

    @Test
    void theMergedStateLoadsIntoThePlainModelAndGivesTheAdaptedLogits() {
        for (boolean dora : List.of(false, true)) {
            AdaptedModel m = model(LoraConfig.of(2, 4, TargetModules.names("kv_b_proj", "q_a_proj", "gate_proj"))
                .withDora(dora));
            CausalLm plain = CausalLms.fromHfConfig(LoraFixtures.deepseek(), LoraLinearTest.F64, 99);
            plain.eval();
            plain.loadStateDict(m.mergedState(), true);
            assertClose("plain model with merged weights, dora " + dora, logits(m.model()), logits(plain), 1e-12);
            assertFalse(m.isMerged(), "mergedState leaves the live model unmerged");
        }
    }

    @Test
    void baseAndAdapterStatesSplitTheStateDict() {
        AdaptedModel m = model(LoraConfig.of(2, 4, TargetModules.names("q_b_proj")).withDora(true));
        Map<String, INDArray> all = m.model().stateDict();
        assertEquals(all.size(), m.baseState().size() + m.adapterState().size());
        assertEquals(List.of("model.layers.0.self_attn.q_b_proj.lora_magnitude_vector",
                "model.layers.0.self_attn.q_b_proj.lora_A.weight", "model.layers.0.self_attn.q_b_proj.lora_B.weight",
                "model.layers.1.self_attn.q_b_proj.lora_magnitude_vector",
                "model.layers.1.self_attn.q_b_proj.lora_A.weight", "model.layers.1.self_attn.q_b_proj.lora_B.weight"),
            List.copyOf(m.adapterState().keySet()));
        assertTrue(m.baseState().containsKey("model.layers.0.self_attn.q_b_proj.weight"));
    }

    @Test
    void adapterTensorsLoadStrictlyWithErrorsNamingTheKeyAndShapes() {
        LoraConfig lora = LoraConfig.of(2, 4, TargetModules.names("q_b_proj")).withDora(true);
        AdaptedModel source = model(lora);
        AdaptedModel target = LoraModels.fromHfConfig(LoraFixtures.deepseek(), LoraLinearTest.F64, lora, 5);
        target.loadAdapterState(source.adapterState());
        source.adapterState().forEach((k, v) -> assertEquals(v, target.adapterState().get(k), k));

        Map<String, INDArray> wrong = new LinkedHashMap<>(source.adapterState());
        String key = "model.layers.1.self_attn.q_b_proj.lora_B.weight";
        wrong.put(key, org.nd4j.linalg.factory.Nd4j.zeros(LoraLinearTest.F64, 3, 2));
        wrong.remove("model.layers.0.self_attn.q_b_proj.lora_A.weight");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> target.loadAdapterState(wrong));
        assertTrue(e.getMessage().contains(key) && e.getMessage().contains("[3, 2]"), e.getMessage());
        assertTrue(e.getMessage().contains("model.layers.0.self_attn.q_b_proj.lora_A.weight"), e.getMessage());
    }
}
