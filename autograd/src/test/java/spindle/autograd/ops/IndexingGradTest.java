// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Named.named;
import static spindle.autograd.GradCase.shape;
import static spindle.autograd.ops.Elementwise.add;
import static spindle.autograd.ops.Indexing.embedding;
import static spindle.autograd.ops.Indexing.gather;
import static spindle.autograd.ops.Indexing.indexSelect;
import static spindle.autograd.ops.Indexing.maskedFill;
import static spindle.autograd.ops.Indexing.scatterAdd;
import static spindle.autograd.ops.Indexing.triu;
import static spindle.autograd.ops.Indexing.where;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradCase;
import spindle.autograd.Tensor;

/** Gradients, hand-computed values, repeated-index accumulation and argument errors of the Indexing ops. */
class IndexingGradTest {
    private static final double NEG_INF = Double.NEGATIVE_INFINITY;

    static Stream<Named<GradCase>> cases() {
        Tensor rep = ids(new long[][] {{0, 0}, {3, 1}, {2, 2}});                       // repeats within rows
        Tensor small = ids(new long[][] {{2, 0, 2}, {1, 1, 0}});                       // [2,3] inside [3,4]
        Tensor wide = Tensor.of(Nd4j.createFromArray(new long[][][] {{{0, 3, 3, 1, 0}, {2, 2, 2, 2, 2}},
            {{1, 0, 1, 0, 3}, {3, 3, 0, 0, 1}}}));                                        // [2,2,5] along dim of size 4
        Tensor int32 = Tensor.of(Nd4j.createFromArray(new int[][] {{1, 0, 1}, {0, 0, 1}}));
        Tensor rows = ids(2, 0, 2);
        Tensor targets = ids(new long[][] {{0, 1, 2, 0}, {0, 2, 2, 2}});               // repeated targets in dim 0
        Tensor tokens = ids(new long[][] {{4, 0, 4}, {1, 4, 4}});
        Tensor cond = Tensor.of(Nd4j.createFromArray(new boolean[][] {{true}, {false}, {true}}));
        return Stream.of(
            named("gather dim 1, repeated indices", GradCase.of(in -> gather(in[0], 1, rep), shape(3, 4))),
            named("gather dim 0, index smaller than x", GradCase.of(in -> gather(in[0], 0, small), shape(3, 4))),
            named("gather dim -1, index longer than the dim",
                GradCase.of(in -> gather(in[0], -1, wide), shape(2, 3, 4))),
            named("gather dim 0, INT32 index", GradCase.of(in -> gather(in[0], 0, int32), shape(2, 3))),
            named("indexSelect dim 0, repeated", GradCase.of(in -> indexSelect(in[0], 0, rows), shape(3, 4))),
            named("indexSelect dim 1 of [2,3,4]", GradCase.of(in -> indexSelect(in[0], 1, rows), shape(2, 3, 4))),
            named("indexSelect dim -1", GradCase.of(in -> indexSelect(in[0], -1, rows), shape(2, 3))),
            named("indexSelect of a vector", GradCase.of(in -> indexSelect(in[0], 0, rows), shape(4))),
            named("scatterAdd dim 0, repeated targets, x and src",
                GradCase.of(in -> scatterAdd(in[0], 0, targets, in[1]), shape(3, 4), shape(2, 4))),
            named("scatterAdd dim -1, src bigger than index",
                GradCase.of(in -> scatterAdd(in[0], -1, small, in[1]), shape(2, 4), shape(3, 5))),
            named("embedding [5,3], ids [2,3] with repeats", GradCase.of(in -> embedding(in[0], tokens), shape(5, 3))),
            named("embedding, 1-D ids", GradCase.of(in -> embedding(in[0], ids(3, 3, 0, 1)), shape(4, 2))),
            named("where, cond [3,1], a [3,4], b [4]",
                GradCase.of(in -> where(cond, in[0], in[1]), shape(3, 4), shape(4))),
            named("where, b broadcast up to cond", GradCase.of(in -> where(cond, in[0], in[1]), shape(3, 1), shape(1))),
            named("maskedFill, future mask [3,3] over [2,3,3]",
                GradCase.of(in -> maskedFill(in[0], futureMask(3), 5.0), shape(2, 3, 3))),
            named("triu, diagonal 0", GradCase.of(in -> triu(in[0], 0), shape(3, 4))),
            named("triu, diagonal -1, batched", GradCase.of(in -> triu(in[0], -1), shape(2, 3, 3))),
            named("triu, diagonal 1", GradCase.of(in -> triu(in[0], 1), shape(4, 3))),
            named("triu, then transpose (non-contiguous gradient)",
                GradCase.of(in -> Shapes.transpose(triu(in[0], 0), 0, 1), shape(3, 4))),
            named("embedding, then transpose (non-contiguous gradient)",
                GradCase.of(in -> Shapes.transpose(embedding(in[0], tokens), 0, 2), shape(5, 3))),
            named("gather and where, then transpose (non-contiguous gradient)", GradCase.of(
                in -> Shapes.transpose(where(cond, gather(in[0], 1, rep), in[1]), 0, 1), shape(3, 4), shape(3, 2))),
            named("indexSelect dim 1, then transpose", GradCase.of(
                in -> Shapes.transpose(indexSelect(in[0], 1, rows), 0, 2), shape(2, 3, 4))),
            named("softmax of scores + causalMask", GradCase.of(
                in -> Softmax.softmax(add(in[0], causalMask(3, DataType.DOUBLE)), -1), shape(2, 3, 3))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientMatchesCentralDifferences(GradCase c) {
        c.assertMatches(new SplittableRandom(67));
    }

    @Test
    void gatherAndScatterAddMatchTorchDocs() {
        // torch.gather(t, 1, [[0, 0], [1, 0]]) with t = [[1, 2], [3, 4]] is [[1, 1], [4, 3]].
        Tensor t = Tensor.of(Nd4j.createFromArray(new double[][] {{1, 2}, {3, 4}}));
        assertValues(new double[][] {{1, 1}, {4, 3}}, gather(t, 1, ids(new long[][] {{0, 0}, {1, 0}})));
        // zeros(3, 5).scatter_add(0, [[0, 1, 2, 0, 0], [0, 1, 2, 2, 2]], ones(2, 5)).
        Tensor zeros = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 3, 5));
        Tensor ones = Tensor.of(Nd4j.ones(DataType.DOUBLE, 2, 5));
        Tensor out = scatterAdd(zeros, 0, ids(new long[][] {{0, 1, 2, 0, 0}, {0, 1, 2, 2, 2}}), ones);
        assertValues(new double[][] {{2, 0, 0, 1, 1}, {0, 2, 0, 0, 0}, {0, 0, 2, 1, 1}}, out);
        // One index row against a two-row src: only src's first row is used.
        Tensor partial = scatterAdd(zeros, 0, ids(new long[][] {{0, 1, 2, 0, 0}}), ones);
        assertValues(new double[][] {{1, 0, 0, 1, 1}, {0, 1, 0, 0, 0}, {0, 0, 1, 0, 0}}, partial);
    }

    @Test
    void scatterAddSendsEachTargetsGradientToEverySourceOfIt() {
        Tensor x = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 3)).requiresGrad(true);
        Tensor src = Tensor.of(Nd4j.createFromArray(1.0, 2.0, 4.0, 8.0)).requiresGrad(true);
        Tensor out = scatterAdd(x, 0, ids(2, 0, 2, 2), src);
        assertArrayEquals(new double[] {2, 0, 13}, out.value().toDoubleVector(), 0);
        out.backward(Nd4j.createFromArray(10.0, 20.0, 30.0));
        assertArrayEquals(new double[] {10, 20, 30}, x.grad().toDoubleVector(), 0);
        assertArrayEquals(new double[] {30, 10, 30, 30}, src.grad().toDoubleVector(), 0);
    }

    @Test
    void indexSelectPicksSlicesInIndexOrder() {
        Tensor x = Tensor.of(Nd4j.createFromArray(new double[][] {{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10, 11}}))
            .requiresGrad(true);
        Tensor cols = indexSelect(x, 1, ids(3, 0, 3));
        assertValues(new double[][] {{3, 0, 3}, {7, 4, 7}, {11, 8, 11}}, cols);
        cols.backward(Nd4j.ones(DataType.DOUBLE, 3, 3));
        assertValues(new double[][] {{1, 0, 0, 2}, {1, 0, 0, 2}, {1, 0, 0, 2}}, Tensor.of(x.grad()));
    }

    @Test
    void embeddingPicksRowsAndAccumulatesRepeatedIds() {
        Tensor w = Tensor.of(Nd4j.createFromArray(new double[][] {{0, 0.5}, {1, 1.5}, {2, 2.5}})).requiresGrad(true);
        Tensor out = embedding(w, ids(new long[][] {{2, 0}, {2, 2}}));
        assertArrayEquals(new long[] {2, 2, 2}, out.shape());
        assertArrayEquals(new double[] {2, 2.5, 0, 0.5, 2, 2.5, 2, 2.5}, out.value().reshape(8).toDoubleVector(), 0);
        out.backward(Nd4j.ones(DataType.DOUBLE, 2, 2, 2));
        assertValues(new double[][] {{1, 1}, {0, 0}, {3, 3}}, Tensor.of(w.grad()));
    }

    @Test
    void emptyAndScalarIndicesFollowTorch() {
        Tensor w = Tensor.of(Nd4j.createFromArray(new double[][] {{0, 0.5}, {1, 1.5}, {2, 2.5}})).requiresGrad(true);
        Tensor none = Tensor.of(Nd4j.create(DataType.LONG, 0));
        assertArrayEquals(new long[] {0, 2}, embedding(w, none).shape());
        assertArrayEquals(new long[] {0, 2}, indexSelect(w, 0, none).shape());
        Tensor picked = gather(w, 1, Tensor.of(Nd4j.create(DataType.LONG, 3, 0)));
        assertArrayEquals(new long[] {3, 0}, picked.shape());
        Tensor one = embedding(w, Tensor.of(Nd4j.scalar(DataType.LONG, 1)));
        assertArrayEquals(new long[] {2}, one.shape());
        assertArrayEquals(new double[] {1, 1.5}, one.value().toDoubleVector(), 0);
        assertArrayEquals(new long[] {3, 1}, indexSelect(w, -1, Tensor.of(Nd4j.scalar(DataType.INT, 1))).shape());
    }

    @Test
    void manyRepeatedIndicesAccumulateExactly() {
        int n = 30_000;   // enough repeats that lost updates from racing threads would show
        long[] id = new long[n];
        for (int i = 0; i < n; i++) {
            id[i] = i % 3;
        }
        Tensor w = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 3, 4)).requiresGrad(true);
        embedding(w, Tensor.of(Nd4j.createFromArray(id))).backward(Nd4j.ones(DataType.DOUBLE, n, 4));
        assertArrayEquals(new double[] {10_000, 10_000, 10_000, 10_000}, w.grad().getRow(2).dup().toDoubleVector(), 0);
        Tensor v = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 3)).requiresGrad(true);
        gather(v, 0, Tensor.of(Nd4j.createFromArray(id))).backward(Nd4j.ones(DataType.DOUBLE, n));
        assertArrayEquals(new double[] {10_000, 10_000, 10_000}, v.grad().toDoubleVector(), 0);
        Tensor u = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 3)).requiresGrad(true);
        indexSelect(u, 0, Tensor.of(Nd4j.createFromArray(id))).backward(Nd4j.ones(DataType.DOUBLE, n));
        assertArrayEquals(new double[] {10_000, 10_000, 10_000}, u.grad().toDoubleVector(), 0);
    }

    @Test
    void whereAndMaskedFillSelectByMask() {
        Tensor cond = Tensor.of(Nd4j.createFromArray(new boolean[][] {{true, false, true}}));
        Tensor a = Tensor.of(Nd4j.createFromArray(new double[][] {{1, 2, 3}, {4, 5, 6}})).requiresGrad(true);
        Tensor b = Tensor.of(Nd4j.createFromArray(NEG_INF)).requiresGrad(true);
        Tensor out = where(cond, a, b);
        assertValues(new double[][] {{1, NEG_INF, 3}, {4, NEG_INF, 6}}, out);
        out.backward(Nd4j.createFromArray(new double[][] {{1, 2, 3}, {4, 5, 6}}));
        assertValues(new double[][] {{1, 0, 3}, {4, 0, 6}}, Tensor.of(a.grad()));
        assertEquals(7.0, b.grad().getDouble(0), 0);
        Tensor scores = Tensor.of(Nd4j.ones(DataType.DOUBLE, 2, 2, 2)).requiresGrad(true);
        Tensor masked = maskedFill(scores, futureMask(2), NEG_INF);
        assertArrayEquals(new double[] {1, NEG_INF, 1, 1, 1, NEG_INF, 1, 1},
            masked.value().reshape(8).toDoubleVector(), 0);
        masked.backward(Nd4j.ones(DataType.DOUBLE, 2, 2, 2));
        assertArrayEquals(new double[] {1, 0, 1, 1, 1, 0, 1, 1}, scores.grad().reshape(8).toDoubleVector(), 0);
    }

    @Test
    void whereAndMaskedFillAreExactForInfNanAndNegativeZero() {
        double nan = Double.NaN;
        double inf = Double.POSITIVE_INFINITY;
        Tensor cond = Tensor.of(Nd4j.createFromArray(true, true, true, false, false, false));
        Tensor a = Tensor.of(Nd4j.createFromArray(nan, inf, -0.0, nan, inf, 1.0));
        Tensor b = Tensor.of(Nd4j.createFromArray(inf, nan, 5.0, NEG_INF, -0.0, nan));
        assertArrayEquals(new double[] {nan, inf, -0.0, NEG_INF, -0.0, nan},
            where(cond, a, b).value().toDoubleVector(), 0);
        assertArrayEquals(new double[] {7, 7, 7, nan, inf, 1.0}, maskedFill(a, cond, 7).value().toDoubleVector(), 0);
        assertArrayEquals(new double[] {nan, nan, nan, nan, inf, 1.0},
            maskedFill(a, cond, nan).value().toDoubleVector(), 0);
    }

    @Test
    void whereAndMaskedFillLeaveTheirInputsIntact() {
        // a [2] only gains a leading 1 to reach [1, 2]: ND4J may hand back a view of a, which must not be freed.
        Tensor cond = Tensor.of(Nd4j.createFromArray(new boolean[][] {{true, false}}));
        Tensor a = Tensor.of(Nd4j.createFromArray(1.0, 2.0)).requiresGrad(true);
        Tensor b = Tensor.of(Nd4j.createFromArray(new double[][] {{3, 4}})).requiresGrad(true);
        Tensor out = where(cond, a, b);
        out.backward(Nd4j.ones(DataType.DOUBLE, 1, 2));
        Tensor filled = maskedFill(a, Tensor.of(Nd4j.createFromArray(true, false)), 9);
        filled.backward(Nd4j.ones(DataType.DOUBLE, 2));
        assertArrayEquals(new double[] {1, 4}, out.value().reshape(2).toDoubleVector(), 0);
        assertArrayEquals(new double[] {9, 2}, filled.value().toDoubleVector(), 0);
        assertArrayEquals(new double[] {1, 2}, a.value().toDoubleVector(), 0);
        assertArrayEquals(new boolean[] {true, false}, toBooleans(cond.value()));
        assertArrayEquals(new double[] {1, 1}, a.grad().toDoubleVector(), 0);   // 1 from where, 1 from maskedFill
    }

    @Test
    void triuAndCausalMasksHaveTheTextbookShape() {
        Tensor m = Tensor.of(Nd4j.createFromArray(new double[][] {{1, 2, 3}, {4, 5, Double.NaN}, {NEG_INF, 8, 9}}));
        assertValues(new double[][] {{1, 2, 3}, {0, 5, Double.NaN}, {0, 0, 9}}, triu(m, 0));
        assertValues(new double[][] {{1, 2, 3}, {4, 5, Double.NaN}, {0, 8, 9}}, triu(m, -1));
        assertValues(new double[][] {{0, 2, 3}, {0, 0, Double.NaN}, {0, 0, 0}}, triu(m, 1));
        assertValues(new double[][] {{0, NEG_INF, NEG_INF}, {0, 0, NEG_INF}, {0, 0, 0}},
            causalMask(3, DataType.DOUBLE));
        assertEquals(DataType.FLOAT, causalMask(2, DataType.FLOAT).dtype());
        Tensor future = futureMask(3);
        assertEquals(DataType.BOOL, future.dtype());
        assertArrayEquals(new boolean[] {false, true, true, false, false, true, false, false, false},
            toBooleans(future.value()));
    }

    @Test
    void opsKeepFloat32() {
        Tensor x = Tensor.of(Nd4j.ones(DataType.FLOAT, 3, 4));
        Tensor i = ids(new long[][] {{0, 1}, {2, 0}, {1, 1}});
        for (Tensor t : new Tensor[] {gather(x, 1, i), indexSelect(x, 0, ids(1, 1)), embedding(x, ids(2, 0)),
            scatterAdd(x, 1, i, x), maskedFill(x, Tensor.of(Nd4j.createFromArray(true, false, false, true)), -1),
            triu(x, 0),
            where(Tensor.of(Nd4j.createFromArray(true, false, true, true)), x, x)}) {
            assertEquals(DataType.FLOAT, t.dtype());
        }
    }

    @Test
    void outOfRangeIdsAreNamedWithTheirPosition() {
        Tensor w = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 5, 2));
        assertMessage(() -> embedding(w, ids(new long[][] {{1, 2}, {7, 0}})), "embedding", "id 7", "[1, 0]",
            "V = 5", "[5, 2]", "[0, 4]");
        assertMessage(() -> embedding(w, ids(-1)), "embedding", "id -1", "V = 5");
        Tensor x = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 3, 4));
        assertMessage(() -> gather(x, 1, ids(new long[][] {{0, 4}})), "gather", "index 4", "[0, 1]", "[3, 4]");
        assertMessage(() -> indexSelect(x, 0, ids(0, 3)), "indexSelect", "index 3", "[1]", "[3, 4]");
        assertMessage(() -> scatterAdd(x, 0, ids(new long[][] {{3}}), x), "scatterAdd", "index 3", "[3, 4]");
    }

    @Test
    void badArgumentsAreNamedWithTheirShapes() {
        Tensor x = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 3, 4));
        assertMessage(() -> gather(x, 1, ids(0, 1)), "gather", "index has shape [2]", "[3, 4]", "rank");
        assertMessage(() -> gather(x, 1, ids(new long[][] {{0}, {0}, {0}, {0}})), "gather", "[4, 1]", "[3, 4]");
        assertMessage(() -> gather(x, 0, Tensor.of(Nd4j.zeros(DataType.DOUBLE, 3, 4))), "gather", "index", "INT64",
            "DOUBLE");
        assertMessage(() -> indexSelect(x, 0, ids(new long[][] {{0}})), "indexSelect", "1-D", "[1, 1]");
        assertMessage(() -> scatterAdd(x, 0, ids(new long[][] {{0, 0}}), Tensor.of(Nd4j.zeros(DataType.DOUBLE, 1, 1))),
            "scatterAdd", "index has shape [1, 2]", "src has shape [1, 1]");
        assertMessage(() -> scatterAdd(x, 0, ids(new long[][] {{0}}), Tensor.of(Nd4j.zeros(DataType.FLOAT, 1, 1))),
            "scatterAdd", "src is FLOAT");
        assertMessage(() -> embedding(Tensor.of(Nd4j.zeros(DataType.DOUBLE, 2, 3, 4)), ids(0)), "embedding", "[V, D]",
            "[2, 3, 4]");
        assertMessage(() -> where(Tensor.of(Nd4j.ones(DataType.DOUBLE, 4)), x, x), "where", "cond", "BOOL", "[4]");
        assertMessage(() -> where(Tensor.of(Nd4j.ones(DataType.BOOL, 5)), x, x), "where", "[5]", "[3, 4]");
        assertMessage(() -> maskedFill(x, Tensor.of(Nd4j.ones(DataType.BOOL, 2, 3, 4)), 0), "maskedFill", "[2, 3, 4]",
            "[3, 4]");
        assertMessage(() -> maskedFill(x, Tensor.of(Nd4j.ones(DataType.BOOL, 3)), 0), "maskedFill", "[3]", "[3, 4]");
        assertMessage(() -> triu(Tensor.of(Nd4j.zeros(DataType.DOUBLE, 4)), 0), "triu", "rank", "[4]");
    }

    /** Additive causal mask [T, T] (0 where key j <= query i, -inf after), the one attention adds to its scores. */
    private static Tensor causalMask(long t, DataType dtype) {
        return Tensor.of(AttentionMasks.buildCausalMask(t, t, dtype).reshape(t, t));
    }

    /** BOOL [T, T], true where key j > query i: the future a query must not see, as maskedFill takes it. */
    private static Tensor futureMask(long t) {
        return Tensor.of(AttentionMasks.buildCausalMask(t, t, DataType.DOUBLE).reshape(t, t).lt(0));
    }

    private static Tensor ids(long... v) {
        return Tensor.of(Nd4j.createFromArray(v));
    }

    private static Tensor ids(long[][] v) {
        return Tensor.of(Nd4j.createFromArray(v));
    }

    private static boolean[] toBooleans(INDArray mask) {
        double[] d = mask.castTo(DataType.DOUBLE).reshape(mask.length()).toDoubleVector();
        boolean[] b = new boolean[d.length];
        for (int i = 0; i < d.length; i++) {
            b[i] = d[i] != 0;
        }
        return b;
    }

    private static void assertValues(double[][] expected, Tensor t) {
        assertArrayEquals(new long[] {expected.length, expected[0].length}, t.shape());
        for (int i = 0; i < expected.length; i++) {
            assertArrayEquals(expected[i], t.value().getRow(i).dup().toDoubleVector(), 0, "row " + i);
        }
    }

    private static void assertMessage(Executable call, String... parts) {
        String m = assertThrows(IllegalArgumentException.class, call).getMessage();
        for (String p : parts) {
            assertTrue(m.contains(p), () -> "'" + p + "' missing from: " + m);
        }
    }
}
