// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Named.named;
import static spindle.autograd.GradCase.shape;
import static spindle.autograd.ops.TopK.topK;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradCase;
import spindle.autograd.Tensor;

/** topK: gradients to the selected positions, values and indices against a sort, and ties. */
class TopKGradTest {

    static Stream<Named<GradCase>> cases() {
        return Stream.of(
            named("topK k=2, last dim", GradCase.of(in -> topK(in[0], 2).values(), shape(3, 5)).withoutTies(0)),
            named("topK k=3, dim 0", GradCase.of(in -> topK(in[0], 3, 0, true).values(), shape(4, 3)).withoutTies(0)),
            named("topK k=2, smallest, dim -1", GradCase.of(in -> topK(in[0], 2, -1, false).values(), shape(3, 5))
                .withoutTies(0)),
            named("topK k=2, dim 1 of [2,4,3]", GradCase.of(in -> topK(in[0], 2, 1, true).values(), shape(2, 4, 3))
                .withoutTies(0)),
            named("topK k = n (a sort)", GradCase.of(in -> topK(in[0], 4).values(), shape(2, 4)).withoutTies(0)),
            named("topK of a vector", GradCase.of(in -> topK(in[0], 3).values(), shape(6)).withoutTies(0)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientMatchesCentralDifferences(GradCase c) {
        c.assertMatches(new SplittableRandom(53));
    }

    @Test
    void valuesAndIndicesMatchASortOfEachRow() {
        SplittableRandom rng = new SplittableRandom(59);
        double[][] rows = new double[6][9];
        for (double[] r : rows) {
            Arrays.setAll(r, i -> rng.nextDouble());
        }
        for (boolean largest : new boolean[] {true, false}) {
            TopK.Result r = topK(Tensor.of(Nd4j.createFromArray(rows)), 4, 1, largest);
            assertEquals(DataType.LONG, r.indices().dtype());
            for (int i = 0; i < rows.length; i++) {
                double[] row = rows[i];
                Comparator<Integer> order = Comparator.comparingDouble(j -> largest ? -row[j] : row[j]);
                long[] expected = IntStream.range(0, 9).boxed().sorted(order).limit(4).mapToLong(j -> j).toArray();
                assertArrayEquals(expected, r.indices().value().getRow(i).toLongVector());
                for (int j = 0; j < 4; j++) {
                    assertEquals(row[(int) expected[j]], r.values().value().getDouble(i, j), 0);
                }
            }
        }
    }

    @Test
    void tiesAreTakenInIndexOrderAndEachGetsItsOwnGradient() {
        Tensor x = Tensor.of(Nd4j.createFromArray(new double[][] {{3, 1, 3, 0}, {2, 5, 5, 7}})).requiresGrad(true);
        TopK.Result r = topK(x, 3);
        assertArrayEquals(new double[] {3, 3, 1, 7, 5, 5}, r.values().value().reshape(6).toDoubleVector(), 0);
        assertArrayEquals(new long[] {0, 2, 1, 3, 1, 2}, r.indices().value().reshape(6).toLongVector());
        Reductions.sum(r.values()).backward();
        assertArrayEquals(new double[] {1, 1, 1, 0, 0, 1, 1, 1}, x.grad().reshape(8).toDoubleVector(), 0);
        TopK.Result smallest = topK(Tensor.of(Nd4j.createFromArray(2.0, 1.0, 2.0, 1.0)), 3, 0, false);
        assertArrayEquals(new long[] {1, 3, 0}, smallest.indices().value().toLongVector());
        assertArrayEquals(new double[] {1, 1, 2}, smallest.values().value().toDoubleVector(), 0);
    }

    @Test
    void infiniteKeysAreRankedWithoutPickingAnIndexTwice() {
        double inf = Double.POSITIVE_INFINITY;
        TopK.Result masked = topK(Tensor.of(Nd4j.createFromArray(-inf, -inf, 1.0)), 3);
        assertArrayEquals(new long[] {2, 0, 1}, masked.indices().value().toLongVector());
        assertArrayEquals(new double[] {1, -inf, -inf}, masked.values().value().toDoubleVector(), 0);
        TopK.Result big = topK(Tensor.of(Nd4j.createFromArray(inf, 1.0, inf)), 2);
        assertArrayEquals(new long[] {0, 2}, big.indices().value().toLongVector());
        TopK.Result f32 = topK(Tensor.of(Nd4j.createFromArray(new float[] {(float) -inf, 2f, (float) -inf})), 3);
        assertArrayEquals(new long[] {1, 0, 2}, f32.indices().value().toLongVector());
    }

    @Test
    void aTieAtTheKthPlaceGoesToTheLowerIndex() {
        TopK.Result r = topK(Tensor.of(Nd4j.createFromArray(5.0, 3.0, 3.0, 1.0)), 2);
        assertArrayEquals(new long[] {0, 1}, r.indices().value().toLongVector());
    }

    @Test
    void indicesAlongAnInnerDimKeepTheInputLayout() {
        INDArray v = Nd4j.createFromArray(new double[][][] {{{1, 9}, {5, 2}, {3, 4}}});   // [1, 3, 2]
        TopK.Result r = topK(Tensor.of(v), 2, 1, true);
        assertArrayEquals(new long[] {1, 2, 2}, r.values().shape());
        assertArrayEquals(new long[] {1, 0, 2, 2}, r.indices().value().reshape(4).toLongVector());
        assertArrayEquals(new double[] {5, 9, 3, 4}, r.values().value().reshape(4).toDoubleVector(), 0);
        assertFalse(r.indices().requiresGrad());
    }

    @Test
    void kOutOfRangeIsReported() {
        Tensor x = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 2, 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> topK(x, 4));
        assertTrue(e.getMessage().contains("k = 4") && e.getMessage().contains("[2, 3]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> topK(x, 0, 0, true));
    }
}
