// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Named.named;
import static spindle.autograd.GradCase.shape;
import static spindle.autograd.ops.Elementwise.abs;
import static spindle.autograd.ops.Elementwise.add;
import static spindle.autograd.ops.Elementwise.addScalar;
import static spindle.autograd.ops.Elementwise.clamp;
import static spindle.autograd.ops.Elementwise.div;
import static spindle.autograd.ops.Elementwise.exp;
import static spindle.autograd.ops.Elementwise.log;
import static spindle.autograd.ops.Elementwise.mul;
import static spindle.autograd.ops.Elementwise.mulScalar;
import static spindle.autograd.ops.Elementwise.neg;
import static spindle.autograd.ops.Elementwise.pow;
import static spindle.autograd.ops.Elementwise.rsqrt;
import static spindle.autograd.ops.Elementwise.sqrt;
import static spindle.autograd.ops.Elementwise.sub;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
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

/** Gradients, closed-form values and input errors of the element-by-element ops. */
class ElementwiseGradTest {

    static Stream<Named<GradCase>> cases() {
        return Stream.of(
            named("add, broadcast [3,4] + [4]", GradCase.of(in -> add(in[0], in[1]), shape(3, 4), shape(4))),
            named("add, both broadcast [2,1,3] + [4,1]", GradCase.of(in -> add(in[0], in[1]), shape(2, 1, 3), shape(4, 1))),
            named("sub, broadcast [3,4] - [3,1]", GradCase.of(in -> sub(in[0], in[1]), shape(3, 4), shape(3, 1))),
            named("mul, broadcast [3,4] x [4]", GradCase.of(in -> mul(in[0], in[1]), shape(3, 4), shape(4))),
            named("mul, rank-0 scalar x [2,3]", GradCase.of(in -> mul(in[0], in[1]), shape(), shape(2, 3))),
            named("div, broadcast [2,3] / [3], divisor in [0.5, 2]",
                GradCase.of(in -> div(in[0], in[1]), shape(2, 3), shape(3)).withRange(1, 0.5, 2)),
            named("pow, tensor exponent, broadcast [3,4] ^ [4]",
                GradCase.of(in -> pow(in[0], in[1]), shape(3, 4), shape(4)).withRange(0, 0.5, 2).withRange(1, -2, 2)),
            named("pow, base broadcast [4] ^ [2,4]",
                GradCase.of(in -> pow(in[0], in[1]), shape(4), shape(2, 4)).withRange(0, 0.5, 2).withRange(1, -2, 2)),
            named("pow, scalar exponent 3 on negatives too", GradCase.of(in -> pow(in[0], 3), shape(2, 3))),
            named("pow, scalar exponent -1.5, x in [0.5, 2]", GradCase.of(in -> pow(in[0], -1.5), shape(5)).withRange(0, 0.5, 2)),
            named("pow, scalar exponent 0", GradCase.of(in -> pow(in[0], 0), shape(4))),
            named("addScalar", GradCase.of(in -> addScalar(in[0], 2.5), shape(2, 3))),
            named("mulScalar", GradCase.of(in -> mulScalar(in[0], -1.5), shape(2, 3))),
            named("neg", GradCase.of(in -> neg(in[0]), shape(2, 3))),
            named("exp", GradCase.of(in -> exp(in[0]), shape(2, 5))),
            named("log, x in [0.1, 3]", GradCase.of(in -> log(in[0]), shape(2, 5)).withRange(0, 0.1, 3)),
            named("sqrt, x in [0.1, 3]", GradCase.of(in -> sqrt(in[0]), shape(2, 5)).withRange(0, 0.1, 3)),
            named("rsqrt, x in [0.1, 3]", GradCase.of(in -> rsqrt(in[0]), shape(2, 5)).withRange(0, 0.1, 3)),
            named("abs, inputs 0.05 away from the kink", GradCase.of(in -> abs(in[0]), shape(10)).awayFrom(0, 0, 0.05)),
            // Evenly spaced inputs +-0.125, +-0.375, +-0.625, +-0.875 sit 0.125 away from both bounds.
            named("clamp [-0.5, 0.5], inputs off both bounds",
                GradCase.of(in -> clamp(in[0], -0.5, 0.5), shape(2, 4)).withoutTies(0)),
            named("clamp min only 0.2", GradCase.of(in -> clamp(in[0], 0.2, null), shape(10)).awayFrom(0, 0.2, 0.05)),
            named("clamp max only -0.3", GradCase.of(in -> clamp(in[0], null, -0.3), shape(10)).awayFrom(0, -0.3, 0.05)),
            named("composite exp(x) * log(y) / sqrt(2 x^2), broadcast [3,2] and [2]", GradCase.of(
                in -> div(mul(exp(in[0]), log(in[1])), sqrt(mulScalar(pow(in[0], 2), 2))), shape(3, 2), shape(2))
                .withRange(0, 0.5, 2).withRange(1, 0.5, 2)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientMatchesCentralDifferences(GradCase c) {
        c.assertMatches(new SplittableRandom(11));
    }

    private static Tensor vec(double... v) {
        return Tensor.of(Nd4j.create(v, new long[] {v.length}, DataType.DOUBLE)).requiresGrad(true);
    }

    private static void assertValues(double[] expected, Tensor t) {
        assertArrayEquals(expected, t.value().toDoubleVector(), 1e-15);
    }

    @Test
    void unaryOpsGiveClosedFormValues() {
        assertValues(new double[] {Math.E, 1, 1 / Math.E}, exp(vec(1, 0, -1)));
        assertValues(new double[] {1, 0, Math.log(2)}, log(vec(Math.E, 1, 2)));
        assertValues(new double[] {2, 3, Math.sqrt(2)}, sqrt(vec(4, 9, 2)));
        assertValues(new double[] {0.5, 1 / 3.0}, rsqrt(vec(4, 9)));
        assertValues(new double[] {2, 0, 3.5}, abs(vec(-2, 0, 3.5)));
        assertValues(new double[] {-2, 0, 3.5}, neg(vec(2, 0, -3.5)));
        assertValues(new double[] {3.5, 0.5}, addScalar(vec(1, -2), 2.5));
        assertValues(new double[] {-3, 6}, mulScalar(vec(1, -2), -3));
    }

    @Test
    void powGivesClosedFormValues() {
        assertValues(new double[] {8, -27, 0.125}, pow(vec(2, -3, 0.5), 3));
        assertValues(new double[] {1, 1}, pow(vec(5, -5), 0));
        assertValues(new double[] {8, 3, 0.25}, pow(vec(2, 9, 2), vec(3, 0.5, -2)));
        assertTrue(Double.isNaN(pow(vec(-2), 0.5).item()), "a negative base with a fractional exponent is NaN");
    }

    @Test
    void powGradientAtZeroBaseFollowsPyTorch() {
        // d/db a^b = a^b ln a is taken as 0 at a = 0 (PyTorch masks it); d/da 0^2 = 2 * 0 = 0.
        Tensor a = vec(0, 2);
        Tensor b = vec(2, 3);
        pow(a, b).backward(Nd4j.ones(DataType.DOUBLE, 2));
        assertArrayEquals(new double[] {0, 12}, a.grad().toDoubleVector(), 1e-12);
        assertArrayEquals(new double[] {0, 8 * Math.log(2)}, b.grad().toDoubleVector(), 1e-12);
    }

    @Test
    void clampValuesAndGradientIncludeTheBounds() {
        Tensor x = vec(-1, -0.5, 0, 0.5, 1);
        Tensor y = clamp(x, -0.5, 0.5);
        assertValues(new double[] {-0.5, -0.5, 0, 0.5, 0.5}, y);
        y.backward(Nd4j.ones(DataType.DOUBLE, 5));
        assertArrayEquals(new double[] {0, 1, 1, 1, 0}, x.grad().toDoubleVector(), 0);
        assertValues(new double[] {0, 0, 0, 0.5, 1}, clamp(vec(-1, -0.5, 0, 0.5, 1), 0.0, null));
        assertValues(new double[] {-1, -0.5, 0, 0, 0}, clamp(vec(-1, -0.5, 0, 0.5, 1), null, 0.0));
    }

    @Test
    void clampWithMinAboveMaxGivesMaxAndNoGradient() {
        Tensor x = vec(-1, 0.5, 2);
        Tensor y = clamp(x, 1.0, 0.0);   // torch.clamp: every element becomes max
        assertValues(new double[] {0, 0, 0}, y);
        y.backward(Nd4j.ones(DataType.DOUBLE, 3));
        assertArrayEquals(new double[] {0, 0, 0}, x.grad().toDoubleVector(), 0);
    }

    @Test
    void absGradientIsZeroAtZero() {
        Tensor x = vec(-2, 0, 3);
        abs(x).backward(Nd4j.ones(DataType.DOUBLE, 3));
        assertArrayEquals(new double[] {-1, 0, 1}, x.grad().toDoubleVector(), 0);
    }

    @Test
    void float32StaysFloat32() {
        Tensor x = Tensor.of(Nd4j.createFromArray(0.5f, 2f)).requiresGrad(true);
        for (Tensor y : List.of(exp(x), log(x), sqrt(x), rsqrt(x), abs(x), neg(x), pow(x, 2), pow(x, x),
                clamp(x, 0.0, 1.0), addScalar(x, 1), mulScalar(x, 2))) {
            assertEquals(DataType.FLOAT, y.dtype(), y.toString());
        }
    }

    @Test
    void binaryOpsRejectMixedDtypesNamingBoth() {
        Tensor d = vec(1, 2);
        Tensor f = Tensor.of(Nd4j.createFromArray(1f, 2f));
        for (var op : List.<BiFunction<Tensor, Tensor, Tensor>>of(Elementwise::add, Elementwise::sub,
                Elementwise::mul, Elementwise::div, Elementwise::pow)) {
            var e = assertThrows(IllegalArgumentException.class, () -> op.apply(d, f));
            assertTrue(e.getMessage().contains("DOUBLE") && e.getMessage().contains("FLOAT"), e.getMessage());
        }
    }

    @Test
    void binaryOpsRejectShapesThatDoNotBroadcastNamingBothShapes() {
        Tensor a = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 2, 3));
        Tensor b = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 4));
        for (String name : List.of("add", "sub", "mul", "div", "pow")) {
            var e = assertThrows(IllegalArgumentException.class, () -> binary(name, a, b));
            String m = e.getMessage();
            assertTrue(m.startsWith(name + ":") && m.contains("[2, 3]") && m.contains("[4]"), m);
        }
    }

    private static Tensor binary(String name, Tensor a, Tensor b) {
        return switch (name) {
            case "add" -> add(a, b);
            case "sub" -> sub(a, b);
            case "mul" -> mul(a, b);
            case "div" -> div(a, b);
            default -> pow(a, b);
        };
    }

    @Test
    void clampRejectsTwoMissingBounds() {
        var e = assertThrows(IllegalArgumentException.class, () -> clamp(vec(1, 2), null, null));
        assertTrue(e.getMessage().contains("clamp") && e.getMessage().contains("[2]"), e.getMessage());
    }

    @Test
    void resultsDoNotAliasTheirInputs() {
        Tensor x = vec(1, 2);
        INDArray before = x.value().dup();
        for (Tensor y : List.of(addScalar(x, 0), mulScalar(x, 1), pow(x, 1), clamp(x, -5.0, 5.0))) {
            y.value().addi(1);   // an in-place change to a result must leave x alone
        }
        assertEquals(before, x.value());
    }
}
