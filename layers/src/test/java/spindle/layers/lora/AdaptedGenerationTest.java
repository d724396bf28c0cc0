// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static spindle.layers.lora.LoraLinearTest.assertClose;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.data.HfConfig;
import spindle.layers.Init;
import spindle.layers.attention.AttentionCache;
import spindle.layers.attention.MlaCacheForm;
import spindle.layers.attention.MultiHeadLatentAttention;
import spindle.layers.models.CausalLm;
import spindle.layers.models.DecoderBlock;
import spindle.layers.models.Generator;
import spindle.layers.models.SamplingOptions;

/**
 * Generation with unmerged adapters equals generation with the merged model, in float64: the cached logits of a
 * prefill and three decode steps (and the greedy tokens), for Llama's KV cache and both MLA caches, the absorbed
 * one with kv_b_proj adapted (it must fold the adapted weight W + s·B·A, DoRA's (m / n)·(W + s·B·A), into the
 * query and the output). Both also equal the uncached forward.
 */
class AdaptedGenerationTest {
    static final int[] PROMPT = {3, 17, 5, 29};
    static final int[] DECODE = {8, 1, 33};

    record Case(HfConfig config, LoraConfig lora, MlaCacheForm form) {}

    static Stream<Named<Case>> cases() {
        LoraConfig mla = LoraConfig.of(2, 4, TargetModules.names("kv_b_proj", "q_b_proj", "kv_a_proj_with_mqa",
            "o_proj", "up_proj"));
        return Stream.of(
            Named.of("llama, LoRA on all linears", new Case(LoraFixtures.llama(false),
                LoraConfig.of(2, 4, TargetModules.allLinear()), null)),
            Named.of("deepseek LoRA, absorbed cache", new Case(LoraFixtures.deepseek(), mla, MlaCacheForm.ABSORBED)),
            Named.of("deepseek LoRA, naive cache", new Case(LoraFixtures.deepseek(), mla, MlaCacheForm.NAIVE)),
            Named.of("deepseek DoRA + rsLoRA, absorbed cache", new Case(LoraFixtures.deepseek(),
                mla.withDora(true).withRslora(true), MlaCacheForm.ABSORBED)),
            Named.of("deepseek DoRA, naive cache", new Case(LoraFixtures.deepseek(), mla.withDora(true),
                MlaCacheForm.NAIVE)));
    }

    /** The case's model with random B and DoRA magnitudes, in eval mode. */
    static AdaptedModel model(Case c) {
        AdaptedModel m = LoraModels.fromHfConfig(c.config(), LoraLinearTest.F64, c.lora().withDropout(0.2), 21);
        SplittableRandom rng = new SplittableRandom(22);
        try (GradMode.Scope off = GradMode.disable()) {
            m.adapters().values().forEach(a -> {
                a.loraB().weight().mutate(b -> b.assign(Init.normal(0, 0.5, rng).create(b.dataType(), b.shape())));
                if (a.magnitude() != null) {
                    a.magnitude().mutate(v -> v.muli(Init.uniform(0.5, rng).create(v.dataType(), v.shape()).addi(1)));
                }
            });
        }
        m.model().eval();
        return m;
    }

    static List<AttentionCache> caches(CausalLm model, MlaCacheForm form) {
        if (form == null) {
            return model.newCaches();
        }
        List<AttentionCache> out = new ArrayList<>();
        for (DecoderBlock b : model.model().layers()) {
            out.add(((MultiHeadLatentAttention) b.attention()).newCache(form));
        }
        return out;
    }

    static Tensor ids(int... tokens) {
        return Tensor.of(Nd4j.createFromArray(new long[][] {java.util.Arrays.stream(tokens).asLongStream().toArray()}));
    }

    /** The logits of the prompt and of each decode token, through one cache of {@code form}: [1, 7, vocab]. */
    static INDArray cachedLogits(CausalLm model, MlaCacheForm form) {
        List<AttentionCache> caches = caches(model, form);
        try (GradMode.Scope off = GradMode.disable()) {
            List<INDArray> steps = new ArrayList<>();
            steps.add(model.forward(ids(PROMPT), caches).logits().value());
            for (int t : DECODE) {
                steps.add(model.forward(ids(t), caches).logits().value());
            }
            return Nd4j.concat(1, steps.toArray(INDArray[]::new));
        }
    }

    static INDArray uncachedLogits(CausalLm model) {
        int[] all = java.util.stream.IntStream.concat(java.util.Arrays.stream(PROMPT), java.util.Arrays.stream(DECODE))
            .toArray();
        try (GradMode.Scope off = GradMode.disable()) {
            return model.forward(ids(all), null).logits().value();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void unmergedGenerationEqualsMergedGeneration(Case c) {
        AdaptedModel m = model(c);
        INDArray unmerged = cachedLogits(m.model(), c.form());
        int[] unmergedTokens = Generator.generate(m.model(), PROMPT, SamplingOptions.greedy(6), s -> { });
        m.merge();
        INDArray merged = cachedLogits(m.model(), c.form());
        int[] mergedTokens = Generator.generate(m.model(), PROMPT, SamplingOptions.greedy(6), s -> { });
        INDArray full = uncachedLogits(m.model());
        m.unmerge();
        assertClose("cached logits, unmerged vs merged", merged, unmerged, 1e-12);
        assertClose("cached vs uncached logits of the merged model", full, merged, 1e-12);
        assertClose("uncached logits, unmerged vs merged", full, uncachedLogits(m.model()), 1e-12);
        assertArrayEquals(mergedTokens, unmergedTokens, "greedy tokens");
    }
}
