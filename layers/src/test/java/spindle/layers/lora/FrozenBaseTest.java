// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.layers.Init;
import spindle.layers.models.Generator;
import spindle.layers.models.SamplingOptions;

/** A LoRA base kept in bf16: what is stored in 16 bits, what stays float32, and that it cannot be trained. */
class FrozenBaseTest {
    private static final LoraConfig ALL_LINEAR_DORA = LoraConfig.of(2, 4, TargetModules.allLinear()).withDora(true);

    @Test
    void storesTheBaseMatricesInBf16AndTheAdaptersNormsAndBiasesInFloat32() {
        AdaptedModel f32 = LoraModels.fromHfConfig(LoraFixtures.deepseek(), DataType.FLOAT, ALL_LINEAR_DORA, 5);
        AdaptedModel bf16 = LoraModels.fromHfConfig(LoraFixtures.deepseek(), DataType.FLOAT, DataType.BFLOAT16,
            ALL_LINEAR_DORA, 5);
        Map<String, INDArray> f32Base = f32.baseState();
        bf16.baseState().forEach((key, v) -> {
            DataType expected = v.rank() == 2 ? DataType.BFLOAT16 : DataType.FLOAT;
            assertEquals(expected, v.dataType(), key);
            if (v.rank() == 2) {   // the same float32 draws, each rounded to bf16
                assertEquals(f32Base.get(key).castTo(DataType.BFLOAT16), v, key);
            }
        });
        bf16.model().trainableParameters().forEach((name, p) -> assertEquals(DataType.FLOAT, p.dtype(), name));
        long f32Bytes = bytes(f32.baseState());
        long bf16Bytes = bytes(bf16.baseState());
        assertTrue(bf16Bytes <= 0.52 * f32Bytes, "base bytes " + bf16Bytes + " vs " + f32Bytes + " in float32");
    }

    @Test
    void aBf16BaseWeightCannotBeTrained() {
        AdaptedModel bf16 = LoraModels.fromHfConfig(LoraFixtures.llama(true), DataType.FLOAT, DataType.BFLOAT16,
            LoraConfig.of(2, 4, TargetModules.names("q_proj")), 1);
        Tensor ids = Tensor.of(Nd4j.createFromArray(new long[][] {{1, 2, 3}}));
        Tensor q = bf16.adapters().get("model.layers.0.self_attn.q_proj").weight().requiresGrad(true);
        var e = assertThrows(IllegalArgumentException.class, () -> bf16.model().forward(ids, null));
        assertTrue(e.getMessage().contains("linear: the weight is BFLOAT16 and requires grad"), e.getMessage());
        q.requiresGrad(false);
        bf16.model().namedParameters().get("model.embed_tokens.weight").requiresGrad(true);
        e = assertThrows(IllegalArgumentException.class, () -> bf16.model().forward(ids, null));
        assertTrue(e.getMessage().contains("embedding: the weight is BFLOAT16 and requires grad"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> LoraModels.fromHfConfig(LoraFixtures.llama(true),
            DataType.DOUBLE, DataType.BFLOAT16, ALL_LINEAR_DORA, 1));
        assertTrue(e.getMessage().contains("stored in BFLOAT16 computes in FLOAT"), e.getMessage());
    }

    @Test
    void computesWhatTheSameWeightsDoInFloat32AndGeneratesTheSameTokens() {
        AdaptedModel bf16 = LoraModels.fromHfConfig(LoraFixtures.deepseek(), DataType.FLOAT, DataType.BFLOAT16,
            ALL_LINEAR_DORA, 7);
        AdaptedModel f32 = LoraModels.fromHfConfig(LoraFixtures.deepseek(), DataType.FLOAT, ALL_LINEAR_DORA, 8);
        moveAdapters(bf16, 9);
        f32.model().loadStateDict(bf16.model().stateDict(), true);   // bf16 -> float32 is exact
        Tensor ids = Tensor.of(Nd4j.createFromArray(new long[][] {{1, 5, 9, 2}}));
        try (GradMode.Scope off = GradMode.disable()) {
            assertEquals(f32.model().forward(ids, null).logits().value(), bf16.model().forward(ids, null).logits().value());
        }
        int[] prompt = {3, 1, 4};
        assertArrayEquals(Generator.generate(f32.model(), prompt, SamplingOptions.greedy(6)),
            Generator.generate(bf16.model(), prompt, SamplingOptions.greedy(6)), "MLA's absorbed cache widens kv_b_proj");
    }

    @Test
    void mergesInTheBaseDtypeAsPeftDoes() {
        AdaptedModel bf16 = LoraModels.fromHfConfig(LoraFixtures.llama(false), DataType.FLOAT, DataType.BFLOAT16,
            ALL_LINEAR_DORA, 3);
        moveAdapters(bf16, 4);
        String q = "model.layers.1.self_attn.q_proj";
        INDArray exact = bf16.adapters().get(q).effectiveWeight();
        INDArray merged = bf16.mergedState().get(q + ".weight");
        assertEquals(DataType.BFLOAT16, merged.dataType());
        assertEquals(exact.castTo(DataType.BFLOAT16), merged);
        bf16.merge();   // the live merge rounds the same way, in place
        assertEquals(merged, bf16.adapters().get(q).weight().value());
        bf16.unmerge();
        assertEquals(DataType.BFLOAT16, bf16.adapters().get(q).weight().dtype());
    }

    /** Non-zero B and moved DoRA magnitudes, so the adapters change the output. */
    private static void moveAdapters(AdaptedModel adapted, long seed) {
        Init noise = Init.normal(0, 0.3, new java.util.SplittableRandom(seed));
        try (GradMode.Scope off = GradMode.disable()) {
            adapted.adapterState().forEach((key, v) -> v.addi(noise.create(v.dataType(), v.shape())));
        }
    }

    private static long bytes(Map<String, INDArray> state) {
        return state.values().stream().mapToLong(v -> v.length() * v.dataType().width()).sum();
    }
}
