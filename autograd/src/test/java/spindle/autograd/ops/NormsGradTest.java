// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Named.named;
import static spindle.autograd.GradCase.shape;
import static spindle.autograd.ops.Elementwise.add;
import static spindle.autograd.ops.Elementwise.addScalar;
import static spindle.autograd.ops.Elementwise.mul;
import static spindle.autograd.ops.Elementwise.rsqrt;
import static spindle.autograd.ops.Elementwise.sub;
import static spindle.autograd.ops.Norms.layerNorm;
import static spindle.autograd.ops.Norms.rmsNorm;
import static spindle.autograd.ops.Reductions.mean;
import static spindle.autograd.ops.SoftmaxGradTest.assertSameValueAndGradients;
import static spindle.autograd.ops.SoftmaxGradTest.randomInput;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradCase;
import spindle.autograd.Tensor;

/** The fused rmsNorm and layerNorm: gradient checks, equality with their composites, closed forms, errors. */
class NormsGradTest {
    static final double EPS = 1e-5;

    static Stream<Named<GradCase>> cases() {
        return Stream.of(
            named("rmsNorm [2,3,5], x and weight", GradCase.of(in -> rmsNorm(in[0], in[1], EPS), shape(2, 3, 5), shape(5))),
            named("rmsNorm of a vector, eps 0.1", GradCase.of(in -> rmsNorm(in[0], in[1], 0.1), shape(7), shape(7))),
            named("rmsNorm of a transposed (non-contiguous) x", GradCase.of(
                in -> rmsNorm(Shapes.transpose(in[0], 0, 1), in[1], EPS), shape(4, 3), shape(4))),
            named("layerNorm [3,6] with weight and bias", GradCase.of(
                in -> layerNorm(in[0], in[1], in[2], EPS), shape(3, 6), shape(6), shape(6))),
            named("layerNorm [2,2,5] without affine", GradCase.of(in -> layerNorm(in[0], null, null, EPS), shape(2, 2, 5))),
            named("layerNorm with weight only", GradCase.of(in -> layerNorm(in[0], in[1], null, EPS), shape(4, 3), shape(3))),
            named("layerNorm with bias only", GradCase.of(in -> layerNorm(in[0], null, in[1], EPS), shape(4, 3), shape(3))),
            named("layerNorm of a transposed x", GradCase.of(
                in -> layerNorm(Shapes.transpose(in[0], 0, 1), in[1], in[2], EPS), shape(5, 2), shape(5), shape(5))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientMatchesCentralDifferences(GradCase c) {
        c.assertMatches(new SplittableRandom(43));
    }

    @Test
    void rmsNormEqualsItsComposite() {
        assertSameValueAndGradients(in -> rmsNorm(in[0], in[1], EPS), in -> rmsComposite(in[0], in[1], EPS), 1e-12,
            randomInput(1, 2, 3, 8), randomInput(2, 8));
    }

    @Test
    void layerNormEqualsItsCompositeWithAndWithoutAffine() {
        Tensor x = randomInput(3, 2, 4, 6);
        Tensor w = randomInput(4, 6);
        Tensor b = randomInput(5, 6);
        assertSameValueAndGradients(in -> layerNorm(in[0], in[1], in[2], EPS),
            in -> add(mul(layerComposite(in[0], EPS), in[1]), in[2]), 1e-12, x, w, b);
        assertSameValueAndGradients(in -> layerNorm(in[0], null, null, EPS), in -> layerComposite(in[0], EPS), 1e-12, x);
        assertSameValueAndGradients(in -> layerNorm(in[0], in[1], null, EPS),
            in -> mul(layerComposite(in[0], EPS), in[1]), 1e-12, x, w);
        assertSameValueAndGradients(in -> layerNorm(in[0], null, in[1], EPS),
            in -> add(layerComposite(in[0], EPS), in[1]), 1e-12, x, b);
    }

    @Test
    void closedForms() {
        Tensor x = Tensor.of(Nd4j.createFromArray(new double[][] {{3, 4}, {1, 3}}));
        Tensor ones = Tensor.of(Nd4j.createFromArray(1.0, 1.0));
        double rms = Math.sqrt(12.5);
        assertArrayEquals(new double[] {3 / rms, 4 / rms, 1 / Math.sqrt(5), 3 / Math.sqrt(5)},
            rmsNorm(x, ones, 0).value().reshape(4).toDoubleVector(), 1e-15);
        // rows (3, 4) and (1, 3): mean 3.5 and 2, biased variance 0.25 and 1
        assertArrayEquals(new double[] {-1, 1, -1, 1}, layerNorm(x, null, null, 0).value().reshape(4).toDoubleVector(), 1e-15);
        Tensor w = Tensor.of(Nd4j.createFromArray(2.0, 3.0));
        Tensor b = Tensor.of(Nd4j.createFromArray(0.5, -0.5));
        assertArrayEquals(new double[] {-1.5, 2.5, -1.5, 2.5}, layerNorm(x, w, b, 0).value().reshape(4).toDoubleVector(), 1e-15);
    }

    @Test
    void badArgumentsAreNamed() {
        Tensor x = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 2, 4));
        Tensor w = Tensor.of(Nd4j.ones(DataType.DOUBLE, 4));
        expect("rmsNorm: eps must be non-negative", () -> rmsNorm(x, w, -1));
        expect("layerNorm: eps must be non-negative", () -> layerNorm(x, w, null, Double.NaN));
        expect("weight has shape [3]", () -> rmsNorm(x, Tensor.of(Nd4j.ones(DataType.DOUBLE, 3)), EPS));
        expect("bias has shape [2, 4]", () -> layerNorm(x, null, x, EPS));
        expect("weight must not be null", () -> rmsNorm(x, null, EPS));
        expect("weight is FLOAT but x is DOUBLE", () -> layerNorm(x, Tensor.of(Nd4j.ones(DataType.FLOAT, 4)), null, EPS));
        expect("non-empty last dim", () -> rmsNorm(Tensor.scalar(1), w, EPS));
    }

    static Tensor rmsComposite(Tensor x, Tensor w, double eps) {
        int last = x.rank() - 1;
        return mul(mul(x, rsqrt(addScalar(mean(mul(x, x), true, last), eps))), w);
    }

    static Tensor layerComposite(Tensor x, double eps) {
        int last = x.rank() - 1;
        Tensor xc = sub(x, mean(x, true, last));
        return mul(xc, rsqrt(addScalar(Reductions.var(x, 0, true, last), eps)));
    }

    static void expect(String fragment, Runnable r) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }
}
