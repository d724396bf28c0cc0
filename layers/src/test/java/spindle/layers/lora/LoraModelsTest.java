// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;
import spindle.layers.StateFiles;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;

/** Adapted causal LMs: full names at the factory, every linear targetable, the target errors, frozen base, loading. */
class LoraModelsTest {
    static final DataType F64 = DataType.DOUBLE;

    static AdaptedModel deepseek(TargetModules targets) {
        return LoraModels.fromHfConfig(LoraFixtures.deepseek(), F64, LoraConfig.of(2, 4, targets), 1);
    }

    static Tensor ids() {
        return Tensor.of(Nd4j.createFromArray(new long[][] {{1, 5, 7, 2, 9}, {3, 3, 8, 0, 4}}));
    }

    @Test
    void theFactorySeesFullModuleNames() {
        AdaptedModel m = LoraModels.fromHfConfig(LoraFixtures.llama(false), F64,
            LoraConfig.of(2, 4, TargetModules.names("q_proj", "v_proj")), 1);
        assertEquals(List.of("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
            "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"), List.copyOf(m.adapters().keySet()));
        m.adapters().forEach((name, a) -> assertTrue(m.model().namedModules().get(name) == a, name));
    }

    @Test
    void allLinearAdaptsMlaDenseSharedAndRoutedExpertsButNotTheHeadOrTheRouter() {
        List<String> names = List.copyOf(deepseek(TargetModules.allLinear()).adapters().keySet());
        for (String want : List.of("model.layers.0.self_attn.q_a_proj", "model.layers.0.self_attn.q_b_proj",
                "model.layers.0.self_attn.kv_a_proj_with_mqa", "model.layers.0.self_attn.kv_b_proj",
                "model.layers.0.self_attn.o_proj", "model.layers.0.mlp.gate_proj", "model.layers.0.mlp.down_proj",
                "model.layers.1.mlp.experts.0.gate_proj", "model.layers.1.mlp.experts.3.up_proj",
                "model.layers.1.mlp.experts.3.down_proj", "model.layers.1.mlp.shared_experts.up_proj")) {
            assertTrue(names.contains(want), want + " in " + names);
        }
        assertEquals(2 * 5 + 3 + 4 * 3 + 3, names.size(), names.toString());
        assertFalse(names.contains("lm_head"));
    }

    @Test
    void namingTheRouterIsAnErrorSayingItIsABareParameter() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> deepseek(TargetModules.names("q_a_proj", "gate")));
        assertTrue(e.getMessage().contains("model.layers.1.mlp.gate"), e.getMessage());
        assertTrue(e.getMessage().contains("bare weight parameter"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> deepseek(TargetModules.regex(".*mlp\\.gate")));
    }

    @Test
    void targetsThatMatchNothingAreListedWithTheModelsLinears() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> deepseek(TargetModules.names("q_a_proj", "c_attn", "w1")));
        assertTrue(e.getMessage().contains("Target modules [c_attn, w1] not found in the base model"), e.getMessage());
        assertTrue(e.getMessage().contains("kv_b_proj"), e.getMessage());
        assertTrue(e.getMessage().startsWith("tiny deepseek"), e.getMessage());
        IllegalArgumentException regex = assertThrows(IllegalArgumentException.class,
            () -> deepseek(TargetModules.regex(".*qkv")));
        assertTrue(regex.getMessage().contains("not found"), regex.getMessage());
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> LoraModels.fromHfConfig(
            LoraFixtures.deepseek(), F64, LoraConfig.of(2, 4, TargetModules.names("q_a_proj"))
                .withLayersToTransform(List.of(7)), 1));
        assertTrue(none.getMessage().contains("adapted no module"), none.getMessage());
    }

    @Test
    void onlyTheAdaptersTrainAndTheBaseIsThePlainModelOfTheSameSeed() {
        AdaptedModel m = deepseek(TargetModules.names("kv_b_proj", "up_proj"));
        CausalLm plain = CausalLms.fromHfConfig(LoraFixtures.deepseek(), F64, 1);
        for (String key : m.model().trainableParameters().keySet()) {
            assertTrue(key.contains(".lora_A.") || key.contains(".lora_B."), key);
        }
        assertEquals(plain.stateDict().keySet(), m.baseState().keySet());
        plain.stateDict().forEach((k, v) -> assertEquals(v, m.baseState().get(k), k));
        assertEquals(plain.forward(ids(), null).logits().value(), m.model().forward(ids(), null).logits().value());
    }

    @Test
    void aBaseDirectoryLoadsStrictlyAndDoraStartsFromItsWeights(@TempDir Path dir) throws Exception {
        CausalLm plain = CausalLms.fromHfConfig(LoraFixtures.deepseek(), F64, 5);
        Files.writeString(dir.resolve("config.json"), LoraFixtures.deepseekJson());
        StateFiles.save(plain, dir.resolve("model.safetensors"));
        LoraConfig dora = LoraConfig.of(2, 4, TargetModules.allLinear()).withDora(true);
        AdaptedModel m = LoraModels.fromPretrained(dir, F64, dora, 3);
        plain.stateDict().forEach((k, v) -> assertEquals(v, m.baseState().get(k), k));
        LoraLinear kvB = m.adapters().get("model.layers.0.self_attn.kv_b_proj");
        assertEquals(kvB.weight().value().norm2(1), kvB.magnitude().value());
        INDArray want = plain.forward(ids(), null).logits().value();
        INDArray got = m.model().forward(ids(), null).logits().value();
        assertTrue(want.equalsWithEps(got, 1e-12), "B = 0 and m = ||W||: the adapted model is the base");

        Map<String, INDArray> extra = new java.util.LinkedHashMap<>(plain.stateDict());
        extra.put("model.layers.0.self_attn.q_a_proj.lora_A.weight", Nd4j.zeros(F64, 2, 16));
        StateFiles.save(plain, dir.resolve("model.safetensors"));
        spindle.data.Safetensors.write(dir.resolve("model.safetensors"), extra, Map.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> LoraModels.fromPretrained(dir, F64, dora, 3));
        assertTrue(e.getMessage().contains("lora_A.weight"), e.getMessage());
    }

    @Test
    void thePeftLineCountsAdaptersAgainstEveryParameter() {
        AdaptedModel m = LoraModels.fromHfConfig(LoraFixtures.llama(true), F64,
            LoraConfig.of(2, 4, TargetModules.names("q_proj")), 1);
        long perAdapter = 2 * 16 + 16 * 2;
        long all = m.model().parameterCount();
        String want = String.format(java.util.Locale.ROOT, "trainable params: %d || all params: %,d || trainable%%: %.4f",
            2 * perAdapter, all, 100.0 * 2 * perAdapter / all);
        assertEquals(want, m.trainableParamsLine());
        assertTrue(m.trainableParamsLine().matches("trainable params: 128 \\|\\| all params: \\d,\\d{3} \\|\\|"
            + " trainable%: \\d+\\.\\d{4}"), m.trainableParamsLine());
    }

    @Test
    void qatStillBuildsWithFullNames() {
        List<String> skipped = new ArrayList<>(spindle.layers.qat.QatModels.fromHfConfig(LoraFixtures.llama(false), F64,
            new spindle.layers.qat.QatConfig(spindle.layers.qat.QatScheme.INT4_WEIGHT_ONLY, 32)).skipped());
        assertTrue(skipped.get(0).startsWith("model.layers.0.self_attn.q_proj "), skipped.toString());
    }
}
