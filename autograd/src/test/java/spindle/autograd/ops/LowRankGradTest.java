// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Named.named;
import static spindle.autograd.GradCase.shape;
import static spindle.autograd.ops.LinalgGradTest.maxAbsDiff;
import static spindle.autograd.ops.LinalgGradTest.random;

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
import spindle.autograd.Autograd;
import spindle.autograd.GradCase;
import spindle.autograd.TapeBytes;
import spindle.autograd.Tensor;

/** LowRank.linear: gradients, equality with the composite of linear, mulScalar and add, and what it keeps. */
class LowRankGradTest {

    static Stream<Named<GradCase>> cases() {
        return Stream.of(
            named("x [2,3,4], x' [2,3,4], W [5,4], bias [5], A [2,4], B [5,2], s 1.5", GradCase.of(
                in -> LowRank.linear(in[0], in[1], in[2], in[3], in[4], in[5], 1.5),
                shape(2, 3, 4), shape(2, 3, 4), shape(5, 4), shape(5), shape(2, 4), shape(5, 2))),
            named("x' = x, no bias, x [3,4], rank 3, s 0.5", GradCase.of(
                in -> LowRank.linear(in[0], in[0], in[1], null, in[2], in[3], 0.5),
                shape(3, 4), shape(6, 4), shape(3, 4), shape(6, 3))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientMatchesCentralDifferences(GradCase c) {
        c.assertMatches(new SplittableRandom(29));
    }

    @Test
    void equalsTheCompositeOfLinearScaleAndAddInValueAndGradients() {
        SplittableRandom rng = new SplittableRandom(3);
        INDArray[] v = {random(rng, 2, 3, 4), random(rng, 2, 3, 4), random(rng, 5, 4), random(rng, 5),
            random(rng, 2, 4), random(rng, 5, 2)};
        INDArray seed = random(rng, 2, 3, 5);
        List<Tensor> fusedIn = leaves(v);
        Tensor fused = LowRank.linear(fusedIn.get(0), fusedIn.get(1), fusedIn.get(2), fusedIn.get(3), fusedIn.get(4),
            fusedIn.get(5), 2.0);
        List<Tensor> in = leaves(v);
        Tensor update = Linalg.linear(Linalg.linear(in.get(1), in.get(4), null), in.get(5), null);
        Tensor composite = Elementwise.add(Linalg.linear(in.get(0), in.get(2), in.get(3)),
            Elementwise.mulScalar(update, 2.0));
        assertTrue(maxAbsDiff(fused.value(), composite.value()) <= 1e-12);
        List<INDArray> gf = Autograd.grad(List.of(fused), fusedIn, List.of(seed), false);
        List<INDArray> gc = Autograd.grad(List.of(composite), in, List.of(seed), false);
        for (int i = 0; i < v.length; i++) {
            double d = maxAbsDiff(gf.get(i), gc.get(i));
            assertTrue(d <= 1e-12, "gradient of input " + i + " differs by " + d);
        }
    }

    /** The point of the op: the composite keeps base, update and scaled update as well; this keeps y and x'·Aᵀ. */
    @Test
    void keepsItsOutputAndTheRankRProductOnly() {
        SplittableRandom rng = new SplittableRandom(4);
        Tensor x = Tensor.of(random(rng, 8, 16)).requiresGrad(true);
        Tensor w = Tensor.of(random(rng, 32, 16));
        Tensor a = Tensor.of(random(rng, 2, 16)).requiresGrad(true);
        Tensor b = Tensor.of(random(rng, 32, 2)).requiresGrad(true);
        Tensor y = LowRank.linear(x, x, w, null, a, b, 1.0);
        assertEquals((8 * 32 + 8 * 2) * Double.BYTES, TapeBytes.of(y));
    }

    @Test
    void mismatchedShapesNameEveryShape() {
        Tensor x = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 3, 4));
        Tensor w = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 5, 4));
        Tensor a = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 2, 4));
        Tensor b = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 5, 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> LowRank.linear(x, x, w, null, a, b, 1.0));
        assertTrue(e.getMessage().startsWith("low-rank linear: x [3, 4], dropped x [3, 4], weight [5, 4], bias none,"
            + " A [2, 4], B [5, 3]"), e.getMessage());
    }

    private static List<Tensor> leaves(INDArray[] values) {
        return Arrays.stream(values).map(v -> Tensor.of(v.dup()).requiresGrad(true)).toList();
    }
}
