// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static spindle.autograd.ops.Elementwise.add;
import static spindle.autograd.ops.Reductions.sum;

import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradCheckOptions;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;

/**
 * ModuleGradCheck on a module whose loss is sum(a^3) + sum(b^3), with a backward that can be made wrong on
 * purpose: the report names the worst element, and a NaN (in the gradient or in the loss) fails the check.
 */
class ModuleGradCheckTest {

    /** Two parameters, a [2, 3] and b [4]; the backward of the cube is {@code grad(3 x^2)}. */
    static final class Cubes extends Module {
        final Tensor a = param("a", Nd4j.createFromArray(new double[][] {{0.5, -1, 1.5}, {2, -0.25, 0.75}}));
        final Tensor b = param("b", Nd4j.createFromArray(new double[] {1, -2, 0.5, 1.25}));

        Tensor loss(UnaryOperator<INDArray> gradOfA, UnaryOperator<INDArray> gradOfB) {
            return add(sum(cube(a, gradOfA)), sum(cube(b, gradOfB)));
        }

        private static Tensor cube(Tensor x, UnaryOperator<INDArray> grad) {
            INDArray v = x.value();
            return Tape.record("cube", v.mul(v).muli(v),
                g -> g.add(0, g.out().mul(grad.apply(v.mul(v).muli(3)))), x);
        }
    }

    private static final UnaryOperator<INDArray> RIGHT = d -> d;

    @Test
    void aRightBackwardPasses() {
        Cubes m = new Cubes();
        ModuleGradCheckResult r = ModuleGradCheck.check(m, () -> m.loss(RIGHT, RIGHT), GradCheckOptions.defaults());
        assertTrue(r.passed(), r.message());
        assertEquals(10, r.checked());
    }

    @Test
    void theReportNamesTheWorstParameterElementValuesAndTolerance() {
        Cubes m = new Cubes();
        // a slightly wrong at [0, 1], b badly wrong at [2]: b[2] is the worst
        UnaryOperator<INDArray> aOff = d -> d.dup().putScalar(new long[] {0, 1}, d.getDouble(0, 1) + 1e-2);
        UnaryOperator<INDArray> bOff = d -> d.dup().putScalar(2, d.getDouble(2) * 2);
        AssertionError e = assertThrows(AssertionError.class,
            () -> ModuleGradCheck.assertMatches(m, () -> m.loss(aOff, bOff)));
        assertEquals("module gradcheck failed on 2 of 10 elements; worst d loss / d b (shape [4]) at [2]:"
            + " analytic 1.50000, numeric 0.750000, |diff| 0.750 > atol 1.00e-05 + rtol 0.00100 * |numeric|",
            e.getMessage());
    }

    @Test
    void aNanGradientFails() {
        Cubes m = new Cubes();
        UnaryOperator<INDArray> nanAt = d -> d.dup().putScalar(new long[] {1, 0}, Double.NaN);
        ModuleGradCheckResult r = ModuleGradCheck.check(m, () -> m.loss(nanAt, RIGHT), GradCheckOptions.defaults());
        assertFalse(r.passed(), r.message());
        assertEquals(1, r.failed());
        assertTrue(r.message().contains("d loss / d a (shape [2, 3]) at [1, 0]: analytic NaN"), r.message());
    }

    @Test
    void aNanLossFailsEvenThoughAnalyticAndNumericAgreeOnNaN() {
        Cubes m = new Cubes();
        m.b.value().putScalar(3, Double.NaN);
        AssertionError e = assertThrows(AssertionError.class,
            () -> ModuleGradCheck.assertMatches(m, () -> m.loss(RIGHT, RIGHT)));
        assertTrue(e.getMessage().contains("failed on 10 of 10 elements; worst d loss / d a (shape [2, 3]) at [0, 0]:"
            + " analytic 0.750000, numeric NaN"), e.getMessage());
    }
}
