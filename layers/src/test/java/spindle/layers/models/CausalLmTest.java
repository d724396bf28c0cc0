// SPDX-License-Identifier: Apache-2.0
package spindle.layers.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static spindle.autograd.ops.Elementwise.add;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.autograd.GradCheckOptions;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Losses;
import spindle.autograd.ops.Shapes;
import spindle.data.HfConfig;
import spindle.layers.ModuleGradCheck;
import spindle.layers.attention.AttentionCache;

/** Hugging Face names, the KV-cache decode, tied embeddings and a float64 gradient check of whole models. */
class CausalLmTest {
    @Test
    void aVocabularySmallerThanTheTokenizersIsNamed() {
        CausalLm model = CausalLms.fromHfConfig(TinyConfigs.llama(false), DataType.DOUBLE, 0);   // vocab_size 40
        var e = assertThrows(IllegalArgumentException.class,
            () -> CausalLms.requireVocab(model, new spindle.data.tokenizer.ByteTokenizer()));
        assertTrue(e.getMessage().contains("vocab_size 40 is smaller than the 256 ids"), e.getMessage());
    }

    @Test
    void llamaKeysAreHuggingFaceKeys() {
        Map<String, INDArray> state = CausalLms.fromHfConfig(TinyConfigs.llama(false), DataType.FLOAT, 1).stateDict();
        for (String key : List.of("model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
            "model.layers.1.self_attn.k_proj.weight", "model.layers.1.mlp.gate_proj.weight",
            "model.layers.1.post_attention_layernorm.weight", "model.norm.weight", "lm_head.weight")) {
            assertTrue(state.containsKey(key), key + " missing from " + state.keySet());
        }
        assertArrayEquals(new long[] {8, 16}, state.get("model.layers.0.self_attn.k_proj.weight").shape());
    }

    @Test
    void deepSeekKeysAreHuggingFaceKeys() {
        Map<String, INDArray> state = CausalLms.fromHfConfig(TinyConfigs.deepseek("12"), DataType.FLOAT, 1).stateDict();
        for (String key : List.of("model.layers.0.self_attn.kv_a_proj_with_mqa.weight",
            "model.layers.0.self_attn.q_a_layernorm.weight", "model.layers.0.mlp.up_proj.weight",
            "model.layers.1.mlp.gate.weight", "model.layers.1.mlp.experts.3.down_proj.weight",
            "model.layers.1.mlp.shared_experts.gate_proj.weight", "lm_head.weight")) {
            assertTrue(state.containsKey(key), key + " missing from " + state.keySet());
        }
        assertFalse(state.containsKey("model.layers.0.mlp.gate.weight"), "layer 0 is dense (first_k_dense_replace 1)");
        Map<String, INDArray> plainQ = CausalLms.fromHfConfig(TinyConfigs.deepseek("null"), DataType.FLOAT, 1).stateDict();
        assertTrue(plainQ.containsKey("model.layers.0.self_attn.q_proj.weight"));
        assertFalse(plainQ.containsKey("model.layers.0.self_attn.q_a_proj.weight"));
    }

    @Test
    void tiedEmbeddingsHaveNoHeadOfTheirOwn() {
        CausalLm tied = CausalLms.fromHfConfig(TinyConfigs.llama(true), DataType.DOUBLE, 2);
        assertFalse(tied.stateDict().containsKey("lm_head.weight"));
        CausalLm untied = CausalLms.fromHfConfig(TinyConfigs.llama(false), DataType.DOUBLE, 2);
        assertEquals(untied.parameterCount() - 40 * 16, tied.parameterCount());
    }

    @Test
    void llamaDecodeWithCacheEqualsFullForward() {
        assertDecodeEqualsFull(CausalLms.fromHfConfig(TinyConfigs.llama(false), DataType.DOUBLE, 3));
    }

    @Test
    void deepSeekDecodeWithCacheEqualsFullForward() {
        assertDecodeEqualsFull(CausalLms.fromHfConfig(TinyConfigs.deepseek("12"), DataType.DOUBLE, 3));
    }

    @Test
    void llamaGradientsMatchFiniteDifferences() {
        assertModelGradients(CausalLms.fromHfConfig(TinyConfigs.llama(true), DataType.DOUBLE, 4));
    }

    @Test
    void deepSeekGradientsMatchFiniteDifferences() {
        assertModelGradients(CausalLms.fromHfConfig(TinyConfigs.deepseek("12"), DataType.DOUBLE, 4));
    }

    @Test
    void unknownModelTypeIsNamed() {
        HfConfig gpt = HfConfig.parse("{\"model_type\": \"gpt2\"}", "gpt2 config");
        var e = assertThrows(IllegalArgumentException.class, () -> CausalLms.fromHfConfig(gpt, DataType.FLOAT, 0));
        assertTrue(e.getMessage().contains("gpt2"), e.getMessage());
    }

    /** Prefill of 5 tokens then 3 single-token decodes give the logits of one forward over all 8. */
    private static void assertDecodeEqualsFull(CausalLm model) {
        model.eval();
        long[] ids = {3, 17, 5, 9, 31, 2, 8, 11};
        try (GradMode.Scope off = GradMode.disable()) {
            INDArray full = model.forward(Tensor.of(Nd4j.createFromArray(ids).reshape(1, 8)), null).logits().value();
            List<AttentionCache> caches = model.newCaches();
            INDArray prefill = model.forward(Tensor.of(Nd4j.createFromArray(java.util.Arrays.copyOf(ids, 5))
                .reshape(1, 5)), caches).logits().value();
            assertTrue(prefill.equalsWithEps(full.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 5), NDArrayIndex.all()), 1e-10));
            for (int t = 5; t < 8; t++) {
                INDArray step = model.forward(Tensor.of(Nd4j.createFromArray(new long[] {ids[t]}).reshape(1, 1)), caches)
                    .logits().value();
                INDArray expected = full.get(NDArrayIndex.all(), NDArrayIndex.interval(t, t + 1), NDArrayIndex.all());
                double diff = maxAbsDiff(step, expected);
                assertTrue(diff < 1e-10, "decode step " + t + " differs from the full forward by " + diff);
            }
            assertEquals(8, caches.get(0).length());
        }
    }

    /** d(cross entropy + balance loss)/d(every parameter), one seeded element each (layers check theirs in full). */
    private static void assertModelGradients(CausalLm model) {
        INDArray ids = Nd4j.createFromArray(new long[] {1, 4, 9, 16, 25, 36, 7, 3, 12, 5}).reshape(2, 5);
        INDArray targets = Nd4j.createFromArray(new long[] {4, 9, 16, 25, 36, 3, 12, 5, 0, 39}).reshape(2, 5);
        ModuleGradCheck.assertMatches(model, () -> {
            CausalLmOutput out = model.forward(Tensor.of(ids), null);
            Tensor ce = Losses.crossEntropy(Shapes.reshape(out.logits(), -1, 40), Shapes.reshape(Tensor.of(targets), -1));
            return add(ce, out.balanceLoss());
        }, GradCheckOptions.defaults().withMaxElementsPerInput(1));
    }

    /** max |a - b|, NaN when either side holds a NaN (ND4J's amaxNumber skips NaN elements, Math.max keeps them). */
    private static double maxAbsDiff(INDArray a, INDArray b) {
        return Arrays.stream(a.sub(b).dup('c').data().asDouble()).map(Math::abs).reduce(0, Math::max);
    }
}
