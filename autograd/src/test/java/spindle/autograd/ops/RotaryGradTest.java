// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Named.named;
import static spindle.autograd.GradCase.shape;
import static spindle.autograd.ops.Elementwise.add;
import static spindle.autograd.ops.Elementwise.mul;
import static spindle.autograd.ops.Elementwise.neg;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradCase;
import spindle.autograd.Tensor;

/** The fused RoPE node equals x * cos + rotate(x) * sin built from primitive ops, and its gradient checks. */
class RotaryGradTest {

    static Stream<Named<GradCase>> cases() {
        return Stream.of(
            named("rope, rotate-half, [2,3,4,6]", ropeCase(RopeLayout.ROTATE_HALF, 2, 3, 4, 6)),
            named("rope, interleaved, [2,3,4,6]", ropeCase(RopeLayout.INTERLEAVED, 2, 3, 4, 6)),
            named("rope, rotate-half, [5,2] (rank 2)", ropeCase(RopeLayout.ROTATE_HALF, 5, 2)),
            named("rope, interleaved, [1,1,3,8]", ropeCase(RopeLayout.INTERLEAVED, 1, 1, 3, 8)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientMatchesCentralDifferences(GradCase c) {
        c.assertMatches(new SplittableRandom(43));
    }

    @ParameterizedTest
    @EnumSource(RopeLayout.class)
    void fusedEqualsComposite(RopeLayout layout) {
        // arbitrary tables (not unit rotations): the backward must be the exact transpose, not an inverse rotation
        INDArray cos = table(3, 3, 8);
        INDArray sin = table(5, 3, 8);
        SoftmaxGradTest.assertSameValueAndGradients(in -> Rotary.rope(in[0], cos, sin, layout),
            in -> composite(in[0], cos, sin, layout), 1e-14, SoftmaxGradTest.randomInput(7, 2, 4, 3, 8));
    }

    @Test
    void rotatesPairsByTheirAngle() {
        // one position, D = 4, pair angles a and b: rotate-half pairs (0,2), (1,3); interleaved (0,1), (2,3)
        double a = 0.3;
        double b = 1.1;
        Tensor x = Tensor.of(Nd4j.createFromArray(new double[][] {{1, 2, 3, 4}}));
        INDArray cosHalf = Nd4j.createFromArray(new double[][] {{Math.cos(a), Math.cos(b), Math.cos(a), Math.cos(b)}});
        INDArray sinHalf = Nd4j.createFromArray(new double[][] {{Math.sin(a), Math.sin(b), Math.sin(a), Math.sin(b)}});
        double[] half = Rotary.rope(x, cosHalf, sinHalf, RopeLayout.ROTATE_HALF).value().toDoubleVector();
        assertArrayEquals(new double[] {Math.cos(a) - 3 * Math.sin(a), 2 * Math.cos(b) - 4 * Math.sin(b),
            3 * Math.cos(a) + Math.sin(a), 4 * Math.cos(b) + 2 * Math.sin(b)}, half, 1e-15);
        INDArray cosInt = Nd4j.createFromArray(new double[][] {{Math.cos(a), Math.cos(a), Math.cos(b), Math.cos(b)}});
        INDArray sinInt = Nd4j.createFromArray(new double[][] {{Math.sin(a), Math.sin(a), Math.sin(b), Math.sin(b)}});
        double[] inter = Rotary.rope(x, cosInt, sinInt, RopeLayout.INTERLEAVED).value().toDoubleVector();
        assertArrayEquals(new double[] {Math.cos(a) - 2 * Math.sin(a), 2 * Math.cos(a) + Math.sin(a),
            3 * Math.cos(b) - 4 * Math.sin(b), 4 * Math.cos(b) + 3 * Math.sin(b)}, inter, 1e-15);
    }

    @Test
    void acceptsANonContiguousInput() {
        INDArray cos = table(3, 4, 6);
        INDArray sin = table(5, 4, 6);
        Tensor base = SoftmaxGradTest.randomInput(9, 2, 4, 3, 6);
        SoftmaxGradTest.assertSameValueAndGradients(in -> Rotary.rope(Shapes.transpose(in[0], 1, 2), cos, sin,
            RopeLayout.ROTATE_HALF), in -> composite(Shapes.transpose(in[0], 1, 2), cos, sin, RopeLayout.ROTATE_HALF),
            1e-14, base);
    }

    @Test
    void badShapesAndDtypesAreReported() {
        Tensor x = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 2, 3, 4));
        INDArray ok = Nd4j.zeros(DataType.DOUBLE, 3, 4);
        expect("cos has shape [4, 4]", () -> Rotary.rope(x, Nd4j.zeros(DataType.DOUBLE, 4, 4), ok, RopeLayout.ROTATE_HALF));
        expect("sin is FLOAT", () -> Rotary.rope(x, ok, Nd4j.zeros(DataType.FLOAT, 3, 4), RopeLayout.INTERLEAVED));
        expect("must be even", () -> Rotary.rope(Tensor.of(Nd4j.zeros(DataType.DOUBLE, 3, 5)),
            Nd4j.zeros(DataType.DOUBLE, 3, 5), Nd4j.zeros(DataType.DOUBLE, 3, 5), RopeLayout.ROTATE_HALF));
    }

    private static void expect(String fragment, Runnable r) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    /** x * cos + rotate(x) * sin from narrow, neg, concat/stack and reshape. */
    static Tensor composite(Tensor x, INDArray cos, INDArray sin, RopeLayout layout) {
        int last = x.rank() - 1;
        long d = x.size(last);
        Tensor rotated;
        if (layout == RopeLayout.ROTATE_HALF) {
            rotated = Joins.concat(last, neg(Shapes.narrow(x, last, d / 2, d / 2)), Shapes.narrow(x, last, 0, d / 2));
        } else {
            long[] pairs = x.shape().clone();
            pairs[last] = d / 2;
            long[] split = java.util.stream.LongStream.concat(java.util.Arrays.stream(pairs),
                java.util.stream.LongStream.of(2)).toArray();
            Tensor p = Shapes.reshape(x, split);
            Tensor even = Shapes.narrow(p, last + 1, 0, 1);
            Tensor odd = Shapes.narrow(p, last + 1, 1, 1);
            rotated = Shapes.reshape(Joins.concat(last + 1, neg(odd), even), x.shape());
        }
        return add(mul(x, Tensor.of(cos)), mul(rotated, Tensor.of(sin)));
    }

    private static GradCase ropeCase(RopeLayout layout, long... shape) {
        long t = shape[shape.length - 2];
        long d = shape[shape.length - 1];
        INDArray cos = table(11, t, d);
        INDArray sin = table(13, t, d);
        return GradCase.of(in -> Rotary.rope(in[0], cos, sin, layout), shape(shape));
    }

    private static INDArray table(long seed, long t, long d) {
        return SoftmaxGradTest.randomInput(seed, t, d).value();
    }
}
