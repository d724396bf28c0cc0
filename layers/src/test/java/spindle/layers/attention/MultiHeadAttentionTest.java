// SPDX-License-Identifier: Apache-2.0
package spindle.layers.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Named.named;
import static spindle.autograd.GradCase.shape;

import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.autograd.GradCase;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Elementwise;
import spindle.autograd.ops.Reductions;
import spindle.autograd.ops.RopeLayout;
import spindle.layers.Init;
import spindle.layers.LinearFactory;
import spindle.layers.ModuleGradCheck;
import spindle.layers.Rope;

/** MultiHeadAttention: gradients, cached decoding equal to the full forward, padding, and argument errors. */
class MultiHeadAttentionTest {

    static Stream<Named<AttentionDims>> dims() {
        return Stream.of(
            named("MHA, 2 heads", new AttentionDims(8, 2, 2, 4, false)),
            named("GQA, 4 heads, 2 kv heads, with bias", new AttentionDims(8, 4, 2, 2, true)),
            named("MQA, 3 heads, 1 kv head", new AttentionDims(6, 3, 1, 4, false)));
    }

    static MultiHeadAttention layer(AttentionDims d, long seed) {
        Rope rope = new Rope(d.headDim(), 10000, 32, RopeLayout.ROTATE_HALF, DataType.DOUBLE);
        Init init = Init.normal(0, 0.5, new SplittableRandom(seed));
        return new MultiHeadAttention(d, rope, LinearFactory.plain(DataType.DOUBLE, init));
    }

    static Tensor random(long seed, long... shape) {
        SplittableRandom rng = new SplittableRandom(seed);
        INDArray v = Nd4j.create(DataType.DOUBLE, shape);
        for (long i = 0; i < v.length(); i++) {
            v.putScalar(i, rng.nextDouble(-1, 1));
        }
        return Tensor.of(v);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dims")
    void gradientWithRespectToInputMatchesCentralDifferences(AttentionDims d) {
        MultiHeadAttention mha = layer(d, 1);
        GradCase.of(in -> mha.forward(in[0], null), shape(2, 5, d.hidden())).assertMatches(new SplittableRandom(2));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dims")
    void gradientWithRespectToWeightsMatchesCentralDifferences(AttentionDims d) {
        MultiHeadAttention mha = layer(d, 3);
        Tensor x = random(4, 2, 5, d.hidden());
        Tensor seed = random(5, 2, 5, d.hidden());
        ModuleGradCheck.assertMatches(mha, () -> Reductions.sum(Elementwise.mul(mha.forward(x, null), seed)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dims")
    void prefillThenTokenByTokenDecodeEqualsTheFullForward(AttentionDims d) {
        MultiHeadAttention mha = layer(d, 6);
        Tensor x = random(7, 2, 9, d.hidden());
        try (GradMode.Scope off = GradMode.disable()) {
            INDArray full = mha.forward(x, null).value();
            AttentionCache cache = mha.newCache();
            INDArray prefill = mha.forward(slice(x, 0, 3), cache).value();
            assertTrue(full.get(tokens(0, 3)).equalsWithEps(prefill, 1e-12), "prefill");
            for (int t = 3; t < 9; t++) {
                INDArray step = mha.forward(slice(x, t, t + 1), cache).value();
                assertTrue(full.get(tokens(t, t + 1)).equalsWithEps(step, 1e-12), "decode step at position " + t);
                assertEquals(t + 1, cache.length());
            }
            assertEquals(2L * d.kvHeads() * d.headDim(), cache.numbersPerToken());
            cache.clear();
            assertEquals(0, cache.length());
            assertTrue(full.get(tokens(0, 2)).equalsWithEps(mha.forward(slice(x, 0, 2), cache).value(), 1e-12),
                "after clear() the cache starts again at position 0");
        }
    }

    @Test
    void rightPaddedSequenceEqualsItsUnpaddedForward() {
        AttentionDims d = new AttentionDims(8, 4, 2, 2, true);
        MultiHeadAttention mha = layer(d, 8);
        Tensor x = random(9, 2, 5, 8);
        Tensor keep = mask(new boolean[][] {{true, true, true, true, true}, {true, true, true, false, false}});
        INDArray padded = mha.forward(x, null, keep).value();
        INDArray alone = mha.forward(Tensor.of(x.value().get(NDArrayIndex.interval(1, 2), NDArrayIndex.interval(0, 3),
            NDArrayIndex.all()).dup()), null).value();
        assertTrue(padded.get(NDArrayIndex.interval(1, 2), NDArrayIndex.interval(0, 3), NDArrayIndex.all())
            .equalsWithEps(alone, 1e-12), "the real tokens of the padded sequence");
        INDArrayIndex[] first = {NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.all()};
        assertTrue(padded.get(first).equalsWithEps(mha.forward(x, null).value().get(first), 1e-12),
            "the unpadded sequence of the batch");
    }

    @Test
    void leftPaddingGivesFiniteOutputsAndOnlyTheBiasAtBlindPositions() {
        AttentionDims d = new AttentionDims(8, 2, 1, 4, true);
        MultiHeadAttention mha = layer(d, 10);
        mha.namedParameters().get("o_proj.bias").value().assign(0.25);
        Tensor x = random(11, 1, 4, 8).requiresGrad(true);
        Tensor y = mha.forward(x, null, mask(new boolean[][] {{false, false, true, true}})).keep();
        Reductions.sum(y).backward();
        assertEquals(0, y.value().isNaN().castTo(DataType.INT32).sumNumber().intValue(), "NaN in the output");
        assertEquals(0, x.grad().isNaN().castTo(DataType.INT32).sumNumber().intValue(), "NaN in d/dx");
        INDArray blind = y.value().get(NDArrayIndex.point(0), NDArrayIndex.interval(0, 2), NDArrayIndex.all());
        assertTrue(blind.equalsWithEps(Nd4j.valueArrayOf(blind.shape(), 0.25, DataType.DOUBLE), 1e-15), blind.toString());
    }

    @Test
    void childrenHaveLlamaNames() {
        MultiHeadAttention mha = layer(new AttentionDims(8, 4, 2, 2, true), 12);
        assertEquals(List.of("q_proj.weight", "q_proj.bias", "k_proj.weight", "k_proj.bias", "v_proj.weight",
            "v_proj.bias", "o_proj.weight", "o_proj.bias"), List.copyOf(mha.namedParameters().keySet()));
        assertEquals(List.of(2L, 8L), List.of(mha.namedParameters().get("k_proj.weight").shape()[0] / 2,
            mha.namedParameters().get("k_proj.weight").shape()[1]));
    }

    @Test
    void badArgumentsAreReported() {
        expect("num_attention_heads (6) must be a multiple of num_key_value_heads (4)", () -> new AttentionDims(12, 6, 4, 2, false));
        expect("num_key_value_heads must be positive", () -> new AttentionDims(12, 6, 0, 2, false));
        expect("head_dim is 4", () -> new MultiHeadAttention(new AttentionDims(8, 2, 2, 4, false),
            new Rope(6, 10000, 8, RopeLayout.ROTATE_HALF, DataType.DOUBLE), LinearFactory.plain(DataType.DOUBLE, Init.zeros())));
        MultiHeadAttention mha = layer(new AttentionDims(8, 2, 1, 4, false), 13);
        expect("[B, T, 8] (hidden_size)", () -> mha.forward(random(1, 2, 3, 6), null));
        expect("use newCache()", () -> mha.forward(random(1, 2, 3, 8), new AttentionCache() {
            public long length() {
                return 0;
            }

            public long numbersPerToken() {
                return 0;
            }

            public void clear() {
            }
        }));
        expect("max_position_embeddings is 32", () -> mha.forward(random(1, 1, 33, 8), null));
        AttentionCache cache = mha.newCache();
        mha.forward(random(1, 2, 3, 8), cache);
        expect("clear() before a new batch", () -> mha.forward(random(1, 3, 1, 8), cache));
        expect("keepMask must be BOOL [B, Tk] = [2, 3]", () -> mha.forward(random(1, 2, 3, 8), null,
            mask(new boolean[][] {{true, true}, {true, true}})));
    }

    private static void expect(String fragment, Runnable r) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    private static Tensor slice(Tensor x, long from, long to) {
        return Tensor.of(x.value().get(tokens(from, to)).dup());
    }

    private static INDArrayIndex[] tokens(long from, long to) {
        return new INDArrayIndex[] {NDArrayIndex.all(), NDArrayIndex.interval(from, to), NDArrayIndex.all()};
    }

    static Tensor mask(boolean[][] keep) {
        INDArray m = Nd4j.zeros(DataType.DOUBLE, keep.length, keep[0].length);
        for (int i = 0; i < keep.length; i++) {
            for (int j = 0; j < keep[i].length; j++) {
                m.putScalar(i, j, keep[i][j] ? 1 : 0);
            }
        }
        return Tensor.of(m.castTo(DataType.BOOL));
    }
}
