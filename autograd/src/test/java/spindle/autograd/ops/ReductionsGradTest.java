// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Named.named;
import static spindle.autograd.GradCase.shape;
import static spindle.autograd.ops.Reductions.amax;
import static spindle.autograd.ops.Reductions.logsumexp;
import static spindle.autograd.ops.Reductions.max;
import static spindle.autograd.ops.Reductions.mean;
import static spindle.autograd.ops.Reductions.min;
import static spindle.autograd.ops.Reductions.sum;
import static spindle.autograd.ops.Reductions.var;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradCase;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;

/** Gradients, closed-form values and argument errors of sum, mean, var, max, min, amax and logsumexp. */
class ReductionsGradTest {

    static Stream<Named<GradCase>> cases() {
        return Stream.of(
            named("sum, all -> scalar", GradCase.of(in -> sum(in[0]), shape(3, 4))),
            named("sum, dim 1, keepDim", GradCase.of(in -> sum(in[0], true, 1), shape(3, 4))),
            named("sum, dims -1 and 0 of [2,3,4]", GradCase.of(in -> sum(in[0], false, -1, 0), shape(2, 3, 4))),
            named("sum, size-1 dim (nothing to spread)", GradCase.of(in -> sum(in[0], true, 1), shape(3, 1))),
            named("mean, all -> scalar", GradCase.of(in -> mean(in[0]), shape(3, 4))),
            named("mean, dim -2", GradCase.of(in -> mean(in[0], false, -2), shape(2, 3, 4))),
            named("mean, dims 0 and 2, keepDim", GradCase.of(in -> mean(in[0], true, 0, 2), shape(2, 3, 4))),
            named("var, all, unbiased", GradCase.of(in -> var(in[0]), shape(3, 4))),
            named("var, dim 1, correction 1, keepDim", GradCase.of(in -> var(in[0], 1, true, 1), shape(3, 4))),
            named("var, dim -1, correction 0", GradCase.of(in -> var(in[0], 0, false, -1), shape(2, 3, 4))),
            named("max, dim 1", GradCase.of(in -> max(in[0], 1, false), shape(3, 4)).withoutTies(0)),
            named("max, dim -1, keepDim", GradCase.of(in -> max(in[0], -1, true), shape(2, 3, 4)).withoutTies(0)),
            named("max, dim 0 of a vector", GradCase.of(in -> max(in[0], 0, false), shape(5)).withoutTies(0)),
            named("min, dim 0", GradCase.of(in -> min(in[0], 0, false), shape(3, 4)).withoutTies(0)),
            named("min, dim -2, keepDim", GradCase.of(in -> min(in[0], -2, true), shape(2, 3, 4)).withoutTies(0)),
            named("amax, all -> scalar", GradCase.of(in -> amax(in[0]), shape(3, 4)).withoutTies(0)),
            named("amax, dims 0 and -1, keepDim", GradCase.of(in -> amax(in[0], true, 0, -1), shape(2, 3, 4)).withoutTies(0)),
            named("logsumexp, dim -1", GradCase.of(in -> logsumexp(in[0], false, -1), shape(3, 5))),
            named("logsumexp, dims 0 and 2, keepDim", GradCase.of(in -> logsumexp(in[0], true, 0, 2), shape(2, 3, 4))),
            named("logsumexp, all, inputs in [40, 60]",
                GradCase.of(in -> logsumexp(in[0], false), shape(3, 4)).withRange(0, 40, 60)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientMatchesCentralDifferences(GradCase c) {
        c.assertMatches(new SplittableRandom(17));
    }

    private static Tensor matrix(double[][] v) {
        return Tensor.of(Nd4j.createFromArray(v)).requiresGrad(true);
    }

    @Test
    void sumAndMeanHaveTheHandComputedValuesAndShapes() {
        Tensor x = matrix(new double[][] {{1, 2, 3}, {4, 5, 6}});
        assertArrayEquals(new long[0], sum(x).shape());
        assertEquals(21, sum(x).item(), 0);
        assertArrayEquals(new double[] {5, 7, 9}, sum(x, false, 0).value().toDoubleVector(), 0);
        assertArrayEquals(new long[] {1, 3}, sum(x, true, -2).shape());
        assertEquals(3.5, mean(x).item(), 0);
        assertArrayEquals(new double[] {2, 5}, mean(x, false, 1).value().toDoubleVector(), 0);
        assertArrayEquals(new long[] {1, 1}, mean(x, true).shape());
    }

    @Test
    void varianceIsUnbiasedByDefault() {
        Tensor x = Tensor.of(Nd4j.createFromArray(1.0, 2.0, 3.0, 4.0));
        assertEquals(5.0 / 3, var(x).item(), 1e-15);           // sum of squares 5 over n - 1 = 3
        assertEquals(1.25, var(x, 0, false).item(), 1e-15);    // over n = 4
        assertEquals(Double.POSITIVE_INFINITY, var(Tensor.of(Nd4j.createFromArray(1.0, 3.0)), 2, false).item());
    }

    @Test
    void logsumexpIsStableForLargeAndInfiniteInputs() {
        Tensor x = Tensor.of(Nd4j.createFromArray(0.0, Math.log(2), Math.log(3)));
        assertEquals(Math.log(6), logsumexp(x, false).item(), 1e-15);
        Tensor big = Tensor.of(Nd4j.createFromArray(new double[][] {{1000, 1000}, {-1000, -1002}}));
        double[] v = logsumexp(big, false, 1).value().toDoubleVector();
        assertEquals(1000 + Math.log(2), v[0], 1e-12);
        assertEquals(-1000 + Math.log1p(Math.exp(-2)), v[1], 1e-12);
        Tensor none = Tensor.of(Nd4j.createFromArray(Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY));
        assertEquals(Double.NEGATIVE_INFINITY, logsumexp(none, false).item());
    }

    @Test
    void maxSendsTheGradientToTheFirstOfTiedMaximaAndAmaxSplitsIt() {
        Tensor x = matrix(new double[][] {{3, 1, 3}, {2, 5, 5}});
        sum(max(x, 1, false)).backward();
        assertArrayEquals(new double[] {1, 0, 0, 0, 1, 0}, x.grad().reshape(6).toDoubleVector(), 0);
        Tensor y = matrix(new double[][] {{3, 1, 3}, {2, 1, 1}});
        sum(min(y, -1, true)).backward();
        assertArrayEquals(new double[] {0, 1, 0, 0, 1, 0}, y.grad().reshape(6).toDoubleVector(), 0);
        Tensor z = matrix(new double[][] {{3, 1, 3}, {2, 0, 1}});
        amax(z).backward();
        assertArrayEquals(new double[] {0.5, 0, 0.5, 0, 0, 0}, z.grad().reshape(6).toDoubleVector(), 0);
        assertArrayEquals(new double[] {3, 5}, max(x, 1, false).value().toDoubleVector(), 0);
    }

    @Test
    void aScalarSumsToItselfWithGradientOne() {
        Tensor x = Tensor.scalar(2.5).requiresGrad(true);
        Tensor s = sum(x);
        assertEquals(2.5, s.item(), 0);
        s.backward();
        assertEquals(1, x.grad().getDouble(0), 0);
    }

    @Test
    void withoutGradModeMaxRecordsNothing() {
        Tensor x = matrix(new double[][] {{3, 1, 3}, {2, 5, 5}});
        try (GradMode.Scope off = GradMode.disable()) {
            Tensor m = min(x, 1, true);
            assertArrayEquals(new double[] {1, 2}, m.value().reshape(2).toDoubleVector(), 0);
            assertFalse(m.requiresGrad());
        }
    }

    @Test
    void float32StaysFloat32() {
        Tensor x = Tensor.of(Nd4j.rand(DataType.FLOAT, 2, 3));
        assertEquals(DataType.FLOAT, sum(x, false, 1).dtype());
        assertEquals(DataType.FLOAT, var(x).dtype());
        assertEquals(DataType.FLOAT, logsumexp(x, true, -1).dtype());
    }

    @Test
    void badDimsNameTheOpTheDimAndTheShape() {
        Tensor x = matrix(new double[][] {{1, 2, 3}, {4, 5, 6}});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sum(x, false, 2));
        assertTrue(e.getMessage().contains("sum: dim 2") && e.getMessage().contains("[2, 3]")
            && e.getMessage().contains("[-2, 1]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> max(x, -3, false));
        assertTrue(e.getMessage().startsWith("max: dim -3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> mean(x, false, 1, -1));
        assertTrue(e.getMessage().contains("mean: dim 1 appears twice"), e.getMessage());
    }
}
