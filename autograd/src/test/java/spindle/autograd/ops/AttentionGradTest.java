// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

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
import spindle.autograd.Autograd;
import spindle.autograd.GradCase;
import spindle.autograd.Tensor;

/** The fused causal attention node equals its composite (repeat-interleaved K/V, -inf fill, softmax) and checks. */
class AttentionGradTest {
    static final double SCALE = 0.7;

    /** q, k, v shapes and an optional keep mask [B][Tk], none with a query that sees no key. */
    record Setup(long[] q, long[] k, long[] v, boolean[][] keep) {
        Tensor mask() {
            return keep == null ? null : keepMask(keep);
        }
    }

    static Stream<Named<Setup>> setups() {
        return Stream.of(
            named("MHA, H = Hkv = 2, T = 4", new Setup(shape(2, 2, 4, 3), shape(2, 2, 4, 3), shape(2, 2, 4, 5), null)),
            named("GQA, H = 4, Hkv = 2", new Setup(shape(1, 4, 3, 2), shape(1, 2, 3, 2), shape(1, 2, 3, 3), null)),
            named("MQA, H = 3, Hkv = 1", new Setup(shape(2, 3, 3, 4), shape(2, 1, 3, 4), shape(2, 1, 3, 2), null)),
            named("GQA, Tq = 2 < Tk = 5 (decode)", new Setup(shape(1, 4, 2, 3), shape(1, 2, 5, 3), shape(1, 2, 5, 3), null)),
            named("GQA, Tq = 1 (one decode step)", new Setup(shape(2, 2, 1, 3), shape(2, 1, 4, 3), shape(2, 1, 4, 3), null)),
            named("GQA, padding mask (right and middle)", new Setup(shape(2, 4, 4, 3), shape(2, 2, 4, 3), shape(2, 2, 4, 2),
                new boolean[][] {{true, true, true, false}, {true, false, true, true}})));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("setups")
    void gradientMatchesCentralDifferences(Setup s) {
        Tensor mask = s.mask();
        for (int blocks = 1; blocks <= Math.min(3, s.q()[2]); blocks++) {
            int n = blocks;
            GradCase.of(in -> Attention.causal(in[0], in[1], in[2], SCALE, mask, n), s.q(), s.k(), s.v())
                .assertMatches(new SplittableRandom(17));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("setups")
    void fusedEqualsComposite(Setup s) {
        Tensor mask = s.mask();
        for (int blocks = 1; blocks <= Math.min(3, s.q()[2]); blocks++) {
            int n = blocks;
            SoftmaxGradTest.assertSameValueAndGradients(in -> Attention.causal(in[0], in[1], in[2], SCALE, mask, n),
                in -> composite(in[0], in[1], in[2], SCALE, s.keep()), 1e-12,
                SoftmaxGradTest.randomInput(1, s.q()), SoftmaxGradTest.randomInput(2, s.k()), SoftmaxGradTest.randomInput(3, s.v()));
        }
    }

    @Test
    void longSequencesTakeQueryBlocksThatEqualOneBlock() {
        // 200 queries get 3 blocks by default (of 66, 67, 67); a decode-style Tq < Tk, GQA and padding on top
        Tensor mask = keepMask(keepAllBut(2, 230, 0, 0, 1, 5, 1, 117));
        for (long tq : new long[] {200, 230}) {
            Tensor[] in = {SoftmaxGradTest.randomInput(20, 2, 4, tq, 3), SoftmaxGradTest.randomInput(21, 2, 2, 230, 3),
                SoftmaxGradTest.randomInput(22, 2, 2, 230, 2)};
            SoftmaxGradTest.assertSameValueAndGradients(x -> Attention.causal(x[0], x[1], x[2], SCALE, mask),
                x -> Attention.causal(x[0], x[1], x[2], SCALE, mask, 1), 1e-12, in);
        }
    }

    /** A keep mask [b][t], true but at the (sequence, key) pairs listed. */
    private static boolean[][] keepAllBut(int b, int t, int... pairs) {
        boolean[][] keep = new boolean[b][t];
        for (boolean[] row : keep) {
            java.util.Arrays.fill(row, true);
        }
        for (int i = 0; i < pairs.length; i += 2) {
            keep[pairs[i]][pairs[i + 1]] = false;
        }
        return keep;
    }

    @Test
    void transposedViewsAreRead() {
        // q, k, v as the projections produce them: [B, T, H, D] transposed to [B, H, T, D] (not contiguous)
        SoftmaxGradTest.assertSameValueAndGradients(
            in -> Attention.causal(Shapes.transpose(in[0], 1, 2), Shapes.transpose(in[1], 1, 2),
                Shapes.transpose(in[2], 1, 2), SCALE, null),
            in -> composite(Shapes.transpose(in[0], 1, 2), Shapes.transpose(in[1], 1, 2),
                Shapes.transpose(in[2], 1, 2), SCALE, null), 1e-12,
            SoftmaxGradTest.randomInput(4, 2, 5, 4, 3), SoftmaxGradTest.randomInput(5, 2, 5, 2, 3),
            SoftmaxGradTest.randomInput(6, 2, 5, 2, 3));
    }

    @Test
    void float32TakesTheSoftmaxOpAndAgreesWithFloat64EvenForLargeScores() {
        // float32 goes through ND4J's softmax op, float64 through exp(log_softmax): both must subtract the row
        // max, which scores of magnitude ~1e3 (scale 300) test; the padding mask adds -inf columns
        Tensor mask = keepMask(new boolean[][] {{true, true, true, true, true, false}, {true, true, false, true, true, true}});
        Tensor[] f64 = {SoftmaxGradTest.randomInput(10, 2, 4, 6, 3), SoftmaxGradTest.randomInput(11, 2, 2, 6, 3),
            SoftmaxGradTest.randomInput(12, 2, 2, 6, 3)};
        Tensor[] f32 = new Tensor[3];
        for (int i = 0; i < 3; i++) {
            f32[i] = Tensor.of(f64[i].value().castTo(DataType.FLOAT)).requiresGrad(true);
            f64[i].requiresGrad(true);
        }
        for (double scale : new double[] {SCALE, 300}) {
            Tensor y64 = Attention.causal(f64[0], f64[1], f64[2], scale, mask);
            Tensor y32 = Attention.causal(f32[0], f32[1], f32[2], scale, mask);
            INDArray seed = SoftmaxGradTest.randomInput(13, 2, 4, 6, 3).value();
            List<INDArray> g64 = Autograd.grad(List.of(y64), List.of(f64), List.of(seed), false);
            List<INDArray> g32 = Autograd.grad(List.of(y32), List.of(f32), List.of(seed.castTo(DataType.FLOAT)), false);
            assertClose(y64.value(), y32.value(), "output, scale " + scale);
            for (int i = 0; i < 3; i++) {
                // at scale 300 the rows are one-hot: the gradient is ~1e-12 in float64, and dP - rowsum(dO ⊙ O)
                // cancels to float32 rounding, so there it need only be finite
                if (scale == SCALE) {
                    assertClose(g64.get(i), g32.get(i), "gradient of input " + i + ", scale " + scale);
                } else {
                    assertEquals(0, g32.get(i).isNaN().castTo(DataType.INT32).sumNumber().intValue(), "NaN in gradient " + i);
                }
            }
        }
    }

    @Test
    void aKeptOutputOutlivesTheBackwardThatSavedIt() {
        // the node saves its own output for the backward; releasing the graph must not free a kept output
        Tensor q = SoftmaxGradTest.randomInput(14, 1, 2, 3, 2).requiresGrad(true);
        Tensor k = SoftmaxGradTest.randomInput(15, 1, 2, 3, 2);
        Tensor v = SoftmaxGradTest.randomInput(16, 1, 2, 3, 2);
        Tensor y = Attention.causal(q, k, v, SCALE, null).keep();
        INDArray before = y.value().dup();
        Reductions.sum(y).backward();
        assertEquals(before, y.value());
    }

    @Test
    void changingTheSavedOutputInPlaceFailsTheBackward() {
        // the backward reads the output (rowsum(dO ⊙ O)); a changed output would give a silently wrong gradient
        Tensor q = SoftmaxGradTest.randomInput(17, 1, 2, 3, 2).requiresGrad(true);
        Tensor y = Attention.causal(q, SoftmaxGradTest.randomInput(18, 1, 2, 3, 2), SoftmaxGradTest.randomInput(19, 1, 2, 3, 2),
            SCALE, null);
        y.mutate(v -> v.muli(2));
        Tensor loss = Reductions.sum(y);   // made after the change, so only the attention node can object
        IllegalStateException e = assertThrows(IllegalStateException.class, loss::backward);
        assertTrue(e.getMessage().contains("'causal_attention' saved its output"), e.getMessage());
    }

    private static void assertClose(INDArray expected, INDArray actual32, String what) {
        double err = expected.sub(actual32.castTo(DataType.DOUBLE)).norm2Number().doubleValue();
        double size = expected.norm2Number().doubleValue();
        assertTrue(err <= 1e-5 * Math.max(size, 1), what + ": float32 differs from float64 by " + err + " (norm " + size + ")");
    }

    @Test
    void queriesThatSeeOnlyPaddingGiveZeroOutputAndGradient() {
        // left padding: sequence 1 starts at key 2, so its queries 0 and 1 see no key at all
        Tensor mask = keepMask(new boolean[][] {{true, true, true, true}, {false, false, true, true}});
        Tensor q = SoftmaxGradTest.randomInput(7, 2, 2, 4, 3).requiresGrad(true);
        Tensor k = SoftmaxGradTest.randomInput(8, 2, 1, 4, 3).requiresGrad(true);
        Tensor v = SoftmaxGradTest.randomInput(9, 2, 1, 4, 3).requiresGrad(true);
        for (int blocks = 1; blocks <= 3; blocks++) {
            assertBlindQueriesGiveZero(q, k, v, mask, blocks);
        }
        // the rows that see something equal the composite's
        GradCase.of(in -> Attention.causal(in[0], in[1], in[2], SCALE, mask), shape(2, 2, 4, 3), shape(2, 1, 4, 3),
            shape(2, 1, 4, 3)).assertMatches(new SplittableRandom(19));
    }

    private static void assertBlindQueriesGiveZero(Tensor q, Tensor k, Tensor v, Tensor mask, int blocks) {
        Tensor y = Attention.causal(q, k, v, SCALE, mask, blocks);
        INDArray seed = Nd4j.ones(DataType.DOUBLE, y.shape());
        List<INDArray> g = Autograd.grad(List.of(y), List.of(q, k, v), List.of(seed), false);
        for (int h = 0; h < 2; h++) {
            for (int i = 0; i < 4; i++) {
                for (int d = 0; d < 3; d++) {
                    double out = y.value().getDouble(1, h, i, d);
                    if (i < 2) {
                        assertEquals(0.0, out, 0.0, "blind query " + i + " of head " + h);
                        assertEquals(0.0, g.get(0).getDouble(1, h, i, d), 0.0, "gradient of blind query " + i);
                    } else {
                        assertTrue(Double.isFinite(out) && out != 0, "query " + i + " sees keys 2.." + i);
                    }
                }
            }
        }
        for (INDArray gi : g) {
            assertTrue(gi.isNaN().castTo(DataType.INT32).sumNumber().intValue() == 0, "NaN in a gradient");
        }
    }

    @Test
    void badArgumentsAreReported() {
        Tensor q = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 1, 3, 2, 4));
        Tensor k = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 1, 2, 2, 4));
        Tensor kOne = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 1, 1, 2, 4));
        expect("must be a multiple of key/value heads (2)", () -> Attention.causal(q, k, k, 1, null));
        expect("more tokens (2) than k (1)", () -> Attention.causal(q, Tensor.of(Nd4j.zeros(DataType.DOUBLE, 1, 1, 1, 4)),
            Tensor.of(Nd4j.zeros(DataType.DOUBLE, 1, 1, 1, 4)), 1, null));
        expect("k [1, 1, 2, 3]", () -> Attention.causal(q, Tensor.of(Nd4j.zeros(DataType.DOUBLE, 1, 1, 2, 3)), kOne, 1, null));
        expect("keepMask must be BOOL [B, Tk] = [1, 2]", () -> Attention.causal(q, kOne, kOne, 1,
            Tensor.of(Nd4j.zeros(DataType.DOUBLE, 1, 2))));
        expect("queryBlocks must be at least 1", () -> Attention.causal(q, kOne, kOne, 1, null, 0));
        expect("dtypes differ", () -> Attention.causal(q, kOne, Tensor.of(Nd4j.zeros(DataType.FLOAT, 1, 1, 2, 4)), 1, null));
    }

    private static void expect(String fragment, Runnable r) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    /** torch_ref's causal_attention after repeat_interleave, with -inf also at padding keys. */
    static Tensor composite(Tensor q, Tensor k, Tensor v, double scale, boolean[][] keep) {
        int rep = (int) (q.size(1) / k.size(1));
        Tensor kr = Shapes.repeatInterleave(k, rep, 1);
        Tensor vr = Shapes.repeatInterleave(v, rep, 1);
        Tensor s = Elementwise.mulScalar(Linalg.matmul(q, Shapes.transpose(kr, 2, 3)), scale);
        long b = q.size(0);
        long tq = q.size(2);
        long tk = k.size(2);
        INDArray hidden = Nd4j.zeros(DataType.DOUBLE, b, 1, tq, tk);
        for (int n = 0; n < b; n++) {
            for (int i = 0; i < tq; i++) {
                for (int j = 0; j < tk; j++) {
                    boolean future = j > tk - tq + i;
                    hidden.putScalar(new long[] {n, 0, i, j}, future || (keep != null && !keep[n][j]) ? 1 : 0);
                }
            }
        }
        s = Indexing.maskedFill(s, Tensor.of(hidden.castTo(DataType.BOOL)), Double.NEGATIVE_INFINITY);
        return Linalg.matmul(Softmax.softmax(s, -1), vr);
    }

    static Tensor keepMask(boolean[][] keep) {
        INDArray m = Nd4j.zeros(DataType.DOUBLE, keep.length, keep[0].length);
        for (int i = 0; i < keep.length; i++) {
            for (int j = 0; j < keep[i].length; j++) {
                m.putScalar(i, j, keep[i][j] ? 1 : 0);
            }
        }
        return Tensor.of(m.castTo(DataType.BOOL));
    }
}
