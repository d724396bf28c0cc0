// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Named.named;
import static spindle.autograd.GradCase.shape;
import static spindle.autograd.ops.Activations.dropout;
import static spindle.autograd.ops.Activations.gelu;
import static spindle.autograd.ops.Activations.relu;
import static spindle.autograd.ops.Activations.sigmoid;
import static spindle.autograd.ops.Activations.silu;
import static spindle.autograd.ops.Activations.tanh;

import java.util.Arrays;
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
import spindle.autograd.GradCase;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Activations.GeluApproximation;

/** Gradients, closed-form values and dropout's seeded masks for the activation functions. */
class ActivationsGradTest {
    // Phi(1) and phi(1) of the standard normal, and GELU's tanh form at 1, from the closed formulas.
    private static final double PHI_1 = 0.8413447460685429;
    private static final double DENSITY_1 = 0.24197072451914337;
    private static final double GELU_TANH_1 = 0.8411919906082768;

    static Stream<Named<GradCase>> cases() {
        return Stream.of(
            named("tanh, x in [-3, 3]", GradCase.of(in -> tanh(in[0]), shape(2, 5)).withRange(0, -3, 3)),
            named("sigmoid, x in [-4, 4]", GradCase.of(in -> sigmoid(in[0]), shape(2, 5)).withRange(0, -4, 4)),
            named("relu, inputs 0.05 away from the kink", GradCase.of(in -> relu(in[0]), shape(3, 4)).awayFrom(0, 0, 0.05)),
            named("gelu, erf form, x in [-4, 4]", GradCase.of(in -> gelu(in[0]), shape(3, 4)).withRange(0, -4, 4)),
            named("gelu, tanh form, x in [-4, 4]",
                GradCase.of(in -> gelu(in[0], GeluApproximation.TANH), shape(3, 4)).withRange(0, -4, 4)),
            named("silu, x in [-4, 4]", GradCase.of(in -> silu(in[0]), shape(3, 4)).withRange(0, -4, 4)),
            named("dropout p = 0.3, fixed seed", GradCase.of(in -> dropout(in[0], 0.3, true, 42L), shape(4, 5))),
            named("silu(x) * tanh(x) chain", GradCase.of(in -> Elementwise.mul(silu(in[0]), tanh(in[0])), shape(6))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientMatchesCentralDifferences(GradCase c) {
        c.assertMatches(new SplittableRandom(17));
    }

    private static Tensor vec(double... v) {
        return Tensor.of(Nd4j.create(v, new long[] {v.length}, DataType.DOUBLE)).requiresGrad(true);
    }

    @Test
    void geluMatchesTheNormalCdfInBothForms() {
        assertArrayEquals(new double[] {PHI_1, -(1 - PHI_1), 0}, gelu(vec(1, -1, 0)).value().toDoubleVector(), 1e-15);
        assertEquals(GELU_TANH_1, gelu(vec(1), GeluApproximation.TANH).item(), 1e-15);
        assertEquals(PHI_1, gelu(vec(1), GeluApproximation.NONE).item(), 1e-15);
    }

    @Test
    void geluGradientAtOneIsCdfPlusDensity() {
        Tensor x = vec(1);
        gelu(x).backward();
        assertEquals(PHI_1 + DENSITY_1, x.grad().getDouble(0), 1e-14);   // Phi(x) + x phi(x) at x = 1
    }

    @Test
    void sigmoidTanhReluAndSiluGiveClosedFormValues() {
        assertArrayEquals(new double[] {0.5, 1 / (1 + Math.exp(-2))}, sigmoid(vec(0, 2)).value().toDoubleVector(), 1e-15);
        assertArrayEquals(new double[] {0, Math.tanh(0.5), Math.tanh(-3)}, tanh(vec(0, 0.5, -3)).value().toDoubleVector(), 1e-15);
        assertArrayEquals(new double[] {0, 0, 2}, relu(vec(-1, 0, 2)).value().toDoubleVector(), 0);
        assertArrayEquals(new double[] {1 / (1 + Math.exp(-1)), 0}, silu(vec(1, 0)).value().toDoubleVector(), 1e-15);
    }

    @Test
    void reluGradientIsZeroAtTheKink() {
        Tensor x = vec(-1, 0, 2);
        relu(x).backward(Nd4j.ones(DataType.DOUBLE, 3));
        assertArrayEquals(new double[] {0, 0, 1}, x.grad().toDoubleVector(), 0);
    }

    @Test
    void float32StaysFloat32() {
        Tensor x = Tensor.of(Nd4j.createFromArray(0.5f, -2f)).requiresGrad(true);
        for (Tensor y : List.of(tanh(x), sigmoid(x), relu(x), gelu(x), gelu(x, GeluApproximation.TANH), silu(x),
                dropout(x, 0.5, true, 1L))) {
            assertEquals(DataType.FLOAT, y.dtype(), y.toString());
        }
    }

    private static Tensor big(long n) {
        return Tensor.of(Nd4j.linspace(1.0, 2.0, n, DataType.DOUBLE).reshape(1000, n / 1000));   // evenly from 1 to 2
    }

    private static INDArray keptMask(Tensor y) {
        return y.value().neq(0).castTo(DataType.DOUBLE);
    }

    @Test
    void sameSeedGivesTheSameMaskAndAnotherSeedAnother() {
        Tensor x = big(100_000);
        INDArray a = keptMask(dropout(x, 0.5, true, 7L));
        assertEquals(a, keptMask(dropout(x, 0.5, true, 7L)));
        assertNotEquals(a, keptMask(dropout(x, 0.5, true, 8L)));
        INDArray r = keptMask(dropout(x, 0.5, true, new SplittableRandom(3)));
        assertEquals(r, keptMask(dropout(x, 0.5, true, new SplittableRandom(3))));
    }

    @Test
    void dropoutKeepsTheMeanAndZeroesAboutAFractionP() {
        long n = 1_000_000;
        double p = 0.25;
        Tensor x = big(n);
        Tensor y = dropout(x, p, true, 123L);
        double zeros = 1 - keptMask(y).meanNumber().doubleValue();
        assertEquals(p, zeros, 0.005);   // the standard error is 4.3e-4
        assertEquals(x.value().meanNumber().doubleValue(), y.value().meanNumber().doubleValue(), 0.01);
        INDArray expected = x.value().mul(keptMask(y)).divi(1 - p);   // kept elements are exactly x / (1 - p)
        assertEquals(0, maxAbsDiff(y.value(), expected), 1e-12);
    }

    @Test
    void dropoutGradientIsTheScaledMask() {
        Tensor x = vec(1, 2, 3, 4, 5, 6, 7, 8);
        Tensor y = dropout(x, 0.5, true, 5L);
        y.keep().backward(Nd4j.ones(DataType.DOUBLE, 8));
        assertEquals(keptMask(y).mul(2), x.grad());
    }

    @Test
    void dropoutIsTheIdentityWhenOffOrPIsZero() {
        Tensor x = vec(1, 2, 3);
        assertSame(x, dropout(x, 0.5, false, 1L));
        assertSame(x, dropout(x, 0.0, true, 1L));
        SplittableRandom rng = new SplittableRandom(9);
        assertSame(x, dropout(x, 0.5, false, rng));
        assertEquals(new SplittableRandom(9).nextLong(), rng.nextLong(), "eval mode must not draw from rng");
    }

    @Test
    void dropoutRejectsPOutsideZeroToOne() {
        for (double p : new double[] {1.0, -0.1, Double.NaN}) {
            var e = assertThrows(IllegalArgumentException.class, () -> dropout(vec(1, 2), p, true, 1L));
            assertTrue(e.getMessage().contains("dropout: p must be in [0, 1)") && e.getMessage().contains("[2]"),
                e.getMessage());
        }
    }

    /** max |a - b|, NaN when either side holds a NaN (ND4J's amaxNumber skips NaN elements, Math.max keeps them). */
    private static double maxAbsDiff(INDArray a, INDArray b) {
        return Arrays.stream(a.sub(b).dup('c').data().asDouble()).map(Math::abs).reduce(0, Math::max);
    }
}
