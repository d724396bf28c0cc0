// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Named.named;
import static spindle.autograd.GradCase.shape;
import static spindle.autograd.ops.Softmax.logSoftmax;
import static spindle.autograd.ops.Softmax.softmax;

import java.util.ArrayList;
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
import org.nd4j.linalg.ops.transforms.Transforms;
import spindle.autograd.Autograd;
import spindle.autograd.GradCase;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;
import spindle.autograd.TensorFunction;

/** Gradients and closed-form values of softmax and logSoftmax, and both equal their composites. */
class SoftmaxGradTest {

    static Stream<Named<GradCase>> cases() {
        return Stream.of(
            named("softmax, dim -1", GradCase.of(in -> softmax(in[0], -1), shape(3, 5))),
            named("softmax, dim 0", GradCase.of(in -> softmax(in[0], 0), shape(4, 3))),
            named("softmax, dim 1 of [2,3,4]", GradCase.of(in -> softmax(in[0], 1), shape(2, 3, 4))),
            named("softmax, vector, inputs in [-30, 30]", GradCase.of(in -> softmax(in[0], 0), shape(6)).withRange(0, -30, 30)),
            named("logSoftmax, dim -1", GradCase.of(in -> logSoftmax(in[0], -1), shape(3, 5))),
            named("logSoftmax, dim 0", GradCase.of(in -> logSoftmax(in[0], 0), shape(4, 3))),
            named("logSoftmax, dim -2 of [2,3,4]", GradCase.of(in -> logSoftmax(in[0], -2), shape(2, 3, 4))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientMatchesCentralDifferences(GradCase c) {
        c.assertMatches(new SplittableRandom(29));
    }

    @Test
    void softmaxOfZeroAndLnTwoIsAThirdAndTwoThirds() {
        Tensor x = Tensor.of(Nd4j.createFromArray(0.0, Math.log(2)));
        assertArrayEquals(new double[] {1.0 / 3, 2.0 / 3}, softmax(x, 0).value().toDoubleVector(), 1e-15);
        assertArrayEquals(new double[] {Math.log(1.0 / 3), Math.log(2.0 / 3)}, logSoftmax(x, -1).value().toDoubleVector(), 1e-15);
    }

    @Test
    void extremeLogitsStayFinite() {
        Tensor x = Tensor.of(Nd4j.createFromArray(new double[][] {{1000, 1001}, {-1000, -1002}}));
        double e = Math.exp(-1);
        double f = Math.exp(-2);
        assertArrayEquals(new double[] {e / (1 + e), 1 / (1 + e), 1 / (1 + f), f / (1 + f)},
            softmax(x, 1).value().reshape(4).toDoubleVector(), 1e-15);
        assertArrayEquals(new double[] {-Math.log1p(Math.exp(1)), -Math.log1p(e), -Math.log1p(f), -2 - Math.log1p(f)},
            logSoftmax(x, 1).value().reshape(4).toDoubleVector(), 1e-12);
    }

    @Test
    void logSoftmaxEqualsXMinusLogsumexp() {
        for (int dim : new int[] {-1, 0, 1}) {
            assertSameValueAndGradients(in -> logSoftmax(in[0], dim),
                in -> Elementwise.sub(in[0], Reductions.logsumexp(in[0], true, dim)), 1e-12, randomInput(31 + dim, 2, 3, 4));
        }
    }

    @Test
    void softmaxEqualsExpOfXMinusLogsumexp() {
        for (int dim : new int[] {-1, 0, 1}) {
            assertSameValueAndGradients(in -> softmax(in[0], dim),
                in -> exp(Elementwise.sub(in[0], Reductions.logsumexp(in[0], true, dim))), 1e-12, randomInput(37 + dim, 2, 3, 4));
        }
    }

    @Test
    void badDimIsReported() {
        Tensor x = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 2, 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> softmax(x, 2));
        assertTrue(e.getMessage().startsWith("softmax: dim 2") && e.getMessage().contains("[2, 3]"), e.getMessage());
    }

    /** e^x as a plain recorded op, the composite's building block (the library's exp lives elsewhere). */
    static Tensor exp(Tensor x) {
        INDArray y = Transforms.exp(x.value(), true);
        return Tape.record("test_exp", y, g -> g.add(0, g.out().mul(y)), x);
    }

    /** A float64 leaf with values uniform in [-3, 3] drawn from a generator seeded with {@code seed}. */
    static Tensor randomInput(long seed, long... shape) {
        return Tensor.of(uniform(new SplittableRandom(seed), -3, 3, shape));
    }

    private static INDArray uniform(SplittableRandom rng, double lo, double hi, long... shape) {
        INDArray v = Nd4j.create(DataType.DOUBLE, shape);
        for (long i = 0; i < v.length(); i++) {
            v.putScalar(i, rng.nextDouble(lo, hi));
        }
        return v;
    }

    /**
     * Runs both functions on fresh copies of the inputs and asserts equal values and equal gradients of the
     * float64 inputs (for the same random seed direction), each within {@code tol}.
     */
    static void assertSameValueAndGradients(TensorFunction fused, TensorFunction composite, double tol, Tensor... inputs) {
        Tensor[] a = copies(inputs);
        Tensor[] b = copies(inputs);
        Tensor fa = fused.apply(a);
        Tensor fb = composite.apply(b);
        assertArrayEquals(fb.shape(), fa.shape(), "shape");
        assertClose("value", fb.value(), fa.value(), tol);
        INDArray seed = uniform(new SplittableRandom(41), -1, 1, fa.shape());
        List<INDArray> ga = Autograd.grad(List.of(fa), floating(a), List.of(seed), false);
        List<INDArray> gb = Autograd.grad(List.of(fb), floating(b), List.of(seed), false);
        for (int i = 0; i < ga.size(); i++) {
            assertClose("gradient of input " + i, gb.get(i), ga.get(i), tol);
        }
    }

    private static Tensor[] copies(Tensor[] inputs) {
        Tensor[] c = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            c[i] = Tensor.of(inputs[i].value().dup()).requiresGrad(inputs[i].dtype() == DataType.DOUBLE);
        }
        return c;
    }

    private static List<Tensor> floating(Tensor[] in) {
        List<Tensor> out = new ArrayList<>();
        for (Tensor t : in) {
            if (t.requiresGrad()) {
                out.add(t);
            }
        }
        return out;
    }

    private static void assertClose(String what, INDArray expected, INDArray actual, double tol) {
        double[] e = expected.reshape(expected.length()).toDoubleVector();
        double[] a = actual.reshape(actual.length()).toDoubleVector();
        for (int i = 0; i < e.length; i++) {
            if (!(Double.isNaN(e[i]) && Double.isNaN(a[i]))) {
                assertEquals(e[i], a[i], tol, what + " at flat index " + i);
            }
        }
    }
}
