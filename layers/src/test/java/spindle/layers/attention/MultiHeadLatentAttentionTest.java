// SPDX-License-Identifier: Apache-2.0
package spindle.layers.attention;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Named.named;
import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;
import static spindle.autograd.GradCase.shape;
import static spindle.layers.attention.MlaFixtures.PLAIN_Q;
import static spindle.layers.attention.MlaFixtures.WITH_Q_LORA;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import spindle.autograd.GradCase;
import spindle.autograd.GradCheckOptions;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Elementwise;
import spindle.autograd.ops.Reductions;
import spindle.autograd.ops.Shapes;
import spindle.layers.ModuleGradCheck;

/**
 * MLA's training forward against central differences (w.r.t. the input and every weight), and its two
 * cached inference forms against the training forward and each other.
 */
class MultiHeadLatentAttentionTest {
    /** Tokens per forward call of a generation: a prefill, single-token steps, and a two-token chunk. */
    static final int[] STEPS = {3, 1, 2, 1, 1};
    static final int TOKENS = 8;

    static Stream<Named<MlaDims>> dims() {
        return Stream.of(named("q_lora_rank 6 (q_a_proj, q_a_layernorm, q_b_proj)", WITH_Q_LORA),
            named("no q_lora_rank (plain q_proj)", PLAIN_Q));
    }

    static Stream<Named<GradCase>> inputCases() {
        return dims().map(d -> {
            MultiHeadLatentAttention mla = MlaFixtures.layer(d.getPayload(), 3);
            return named("d out / d x, " + d.getName(),
                GradCase.of(in -> mla.forward(in[0], null), shape(2, 4, d.getPayload().hidden())));
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("inputCases")
    void gradientWithRespectToInputMatchesCentralDifferences(GradCase c) {
        c.assertMatches(new SplittableRandom(11));
    }

    @ParameterizedTest(name = "d loss / d weights, {0}")
    @MethodSource("dims")
    void gradientWithRespectToWeightsMatchesCentralDifferences(MlaDims d) {
        MultiHeadLatentAttention mla = MlaFixtures.layer(d, 5);
        Tensor x = MlaFixtures.random(6, 2, 5, d.hidden());
        Tensor seed = MlaFixtures.random(7, 2, 5, d.hidden());
        // A seeded sample of 20 elements per weight matrix keeps the check to a few hundred forwards.
        ModuleGradCheck.assertMatches(mla, () -> Reductions.sum(Elementwise.mul(mla.forward(x, null), seed)),
            GradCheckOptions.defaults().withMaxElementsPerInput(20));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dims")
    void absorbedCacheGivesTheNaiveCacheOutputs(MlaDims d) {
        MultiHeadLatentAttention mla = MlaFixtures.layer(d, 21);
        Tensor x = MlaFixtures.random(22, 2, TOKENS, d.hidden());
        List<INDArray> naive = generate(mla, x, mla.newCache(MlaCacheForm.NAIVE));
        List<INDArray> absorbed = generate(mla, x, mla.newCache(MlaCacheForm.ABSORBED));
        for (int i = 0; i < STEPS.length; i++) {
            assertClose("step " + i, naive.get(i), absorbed.get(i), 1e-10);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dims")
    void cachedDecodingEqualsTheTrainingForward(MlaDims d) {
        MultiHeadLatentAttention mla = MlaFixtures.layer(d, 31);
        Tensor x = MlaFixtures.random(32, 2, TOKENS, d.hidden());
        INDArray full = mla.forward(x, null).value();
        for (MlaCacheForm form : MlaCacheForm.values()) {
            MlaCache cache = mla.newCache(form);
            INDArray stepwise = Nd4j.concat(1, generate(mla, x, cache).toArray(INDArray[]::new));
            assertClose(form + " cache vs training forward", full, stepwise, 1e-12);
            assertEquals(TOKENS, cache.length());
            assertEquals(2L * TOKENS * cache.numbersPerToken(), cache.storedNumbers(), form + " numbers stored");
            cache.clear();
            assertEquals(0, cache.length());
            assertEquals(0, cache.storedNumbers());
        }
    }

    @Test
    void cachedForwardAlsoWorksWithGradientsOn() {
        MultiHeadLatentAttention mla = MlaFixtures.layer(WITH_Q_LORA, 41);
        Tensor x = MlaFixtures.random(42, 1, 4, WITH_Q_LORA.hidden());
        INDArray full = mla.forward(x, null).value();
        MlaCache cache = mla.newCache();
        mla.forward(Shapes.narrow(x, 1, 0, 3), cache);
        Tensor last = mla.forward(Shapes.narrow(x, 1, 3, 1), cache).keep();
        Reductions.sum(last).backward();
        assertClose("last token", full.get(all(), interval(3, 4), all()), last.value(), 1e-12);
        assertTrue(mla.namedParameters().get("kv_a_proj_with_mqa.weight").grad() != null,
            "the new token's key reaches kv_a_proj_with_mqa");
    }

    @Test
    void childrenAndParametersHaveDeepSeekV3Names() {
        assertEquals(List.of("q_a_proj.weight", "q_a_layernorm.weight", "q_b_proj.weight", "kv_a_proj_with_mqa.weight",
                "kv_a_layernorm.weight", "kv_b_proj.weight", "o_proj.weight"),
            new ArrayList<>(MlaFixtures.layer(WITH_Q_LORA, 1).namedParameters().keySet()));
        MultiHeadLatentAttention plain = MlaFixtures.layer(PLAIN_Q, 1);
        assertEquals(List.of("q_proj.weight", "kv_a_proj_with_mqa.weight", "kv_a_layernorm.weight", "kv_b_proj.weight",
            "o_proj.weight"), new ArrayList<>(plain.namedParameters().keySet()));
        var p = plain.namedParameters();
        assertArrayEquals(new long[] {2 * 8, 12}, p.get("q_proj.weight").shape());
        assertArrayEquals(new long[] {5 + 4, 12}, p.get("kv_a_proj_with_mqa.weight").shape());
        assertArrayEquals(new long[] {2 * (4 + 3), 5}, p.get("kv_b_proj.weight").shape());
        assertArrayEquals(new long[] {12, 2 * 3}, p.get("o_proj.weight").shape());
    }

    /** Runs x through the cache in the chunks of STEPS without gradients; returns each chunk's output. */
    static List<INDArray> generate(MultiHeadLatentAttention mla, Tensor x, MlaCache cache) {
        List<INDArray> out = new ArrayList<>();
        try (GradMode.Scope off = GradMode.disable()) {
            long at = 0;
            for (int n : STEPS) {
                assertEquals(at, cache.length());
                out.add(mla.forward(Shapes.narrow(x, 1, at, n), cache).value().dup());
                at += n;
            }
        }
        return out;
    }

    static void assertClose(String what, INDArray expected, INDArray actual, double tol) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        // ND4J's maxNumber skips NaN elements; Math.max keeps a NaN, which then fails the check
        double worst = Arrays.stream(expected.sub(actual).dup('c').data().asDouble()).map(Math::abs).reduce(0, Math::max);
        double scale = Math.max(1, Transforms.abs(expected).maxNumber().doubleValue());
        assertTrue(worst <= tol * scale, what + ": max |diff| " + worst + " > " + tol + " * " + scale);
    }
}
