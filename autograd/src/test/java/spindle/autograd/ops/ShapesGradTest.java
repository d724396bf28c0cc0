// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Named.named;
import static spindle.autograd.GradCase.shape;
import static spindle.autograd.ops.Elementwise.add;
import static spindle.autograd.ops.Elementwise.mul;
import static spindle.autograd.ops.Joins.concat;
import static spindle.autograd.ops.Joins.split;
import static spindle.autograd.ops.Joins.stack;
import static spindle.autograd.ops.Shapes.expand;
import static spindle.autograd.ops.Shapes.flatten;
import static spindle.autograd.ops.Shapes.narrow;
import static spindle.autograd.ops.Shapes.permute;
import static spindle.autograd.ops.Shapes.repeatInterleave;
import static spindle.autograd.ops.Shapes.reshape;
import static spindle.autograd.ops.Shapes.slice;
import static spindle.autograd.ops.Shapes.squeeze;
import static spindle.autograd.ops.Shapes.transpose;
import static spindle.autograd.ops.Shapes.unsqueeze;

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

/** Gradients, hand-computed values and argument errors of the Shapes and Joins ops. */
class ShapesGradTest {

    static Stream<Named<GradCase>> cases() {
        return Stream.of(
            named("reshape [2,3,4] -> [4,-1]", GradCase.of(in -> reshape(in[0], 4, -1), shape(2, 3, 4))),
            named("reshape of a permuted (non-contiguous) view", GradCase.of(
                in -> reshape(permute(in[0], 2, 0, 1), 4, 6), shape(2, 3, 4))),
            named("reshape to a scalar and back", GradCase.of(in -> reshape(reshape(in[0]), 1, 1), shape(1))),
            named("flatten dims 1..-1", GradCase.of(in -> flatten(in[0], 1, -1), shape(2, 3, 4))),
            named("unsqueeze dim -1", GradCase.of(in -> unsqueeze(in[0], -1), shape(2, 3))),
            named("squeeze dim 1", GradCase.of(in -> squeeze(in[0], 1), shape(2, 1, 3))),
            named("squeeze all size-1 dims", GradCase.of(in -> squeeze(in[0]), shape(1, 3, 1))),
            named("permute (2,0,1)", GradCase.of(in -> permute(in[0], 2, 0, 1), shape(2, 3, 4))),
            named("permute, negative dims (-1,0,-2)", GradCase.of(in -> permute(in[0], -1, 0, -2), shape(2, 3, 4))),
            named("transpose 0 and -1", GradCase.of(in -> transpose(in[0], 0, -1), shape(2, 3, 4))),
            named("narrow dim 1, start 1, length 2", GradCase.of(in -> narrow(in[0], 1, 1, 2), shape(3, 4))),
            named("narrow dim -1, negative start", GradCase.of(in -> narrow(in[0], -1, -3, 2), shape(2, 3, 4))),
            named("slice dim -1 [1:-1]", GradCase.of(in -> slice(in[0], -1, 1, -1), shape(3, 5))),
            named("expand [3,1] -> [2,3,4]", GradCase.of(in -> expand(in[0], 2, 3, 4), shape(3, 1))),
            named("expand with -1 [1,3] -> [5,-1]", GradCase.of(in -> expand(in[0], 5, -1), shape(1, 3))),
            named("repeatInterleave x2, dim 1 (GQA heads)", GradCase.of(
                in -> repeatInterleave(in[0], 2, 1), shape(2, 3, 4))),
            named("repeatInterleave x3, dim -1", GradCase.of(in -> repeatInterleave(in[0], 3, -1), shape(2, 3))),
            named("repeatInterleave x2 of a vector", GradCase.of(in -> repeatInterleave(in[0], 2, 0), shape(4))),
            named("concat 3 inputs, dim 1", GradCase.of(in -> concat(1, in[0], in[1], in[2]),
                shape(2, 1, 3), shape(2, 2, 3), shape(2, 3, 3))),
            named("concat dim -1", GradCase.of(in -> concat(-1, in[0], in[1]), shape(3, 2), shape(3, 4))),
            named("concat of one tensor with itself", GradCase.of(in -> concat(0, in[0], in[0]), shape(2, 3))),
            named("stack dim 0",
                GradCase.of(in -> stack(0, in[0], in[1], in[2]), shape(2, 3), shape(2, 3), shape(2, 3))),
            named("stack dim -1", GradCase.of(in -> stack(-1, in[0], in[1]), shape(2, 3), shape(2, 3))),
            named("split sizes (1,3), pieces recombined", GradCase.of(
                in -> concat(1, split(in[0], 1, 1, 3)[1], split(in[0], 1, 1, 3)[0]), shape(2, 4))),
            named("split chunk 2 along -1, pieces multiplied", GradCase.of(in -> {
                Tensor[] p = split(in[0], -1, 2L);
                return mul(p[0], p[1]);
            }, shape(3, 4))),
            named("split, only one piece used", GradCase.of(in -> split(in[0], 0, 2L)[1], shape(5, 2))),
            named("GQA chain: transpose, narrow, repeatInterleave", GradCase.of(
                in -> add(repeatInterleave(narrow(transpose(in[0], 1, 2), 2, 0, 2), 2, 1), in[1]),
                shape(2, 3, 2, 4), shape(2, 4, 2, 4))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientMatchesCentralDifferences(GradCase c) {
        c.assertMatches(new SplittableRandom(61));
    }

    @Test
    void reshapeAndPermuteFollowRowMajorOrder() {
        Tensor x = Tensor.of(Nd4j.createFromArray(new double[][] {{0, 1, 2}, {3, 4, 5}}));
        assertValues(new double[][] {{0, 1}, {2, 3}, {4, 5}}, reshape(x, -1, 2));
        assertValues(new double[][] {{0, 3}, {1, 4}, {2, 5}}, transpose(x, 0, 1));
        assertValues(new double[][] {{0, 3, 1}, {4, 2, 5}}, reshape(permute(x, 1, 0), 2, 3));
        assertArrayEquals(new long[] {2, 1, 3}, unsqueeze(x, 1).shape());
        assertArrayEquals(new long[] {2, 3, 1}, unsqueeze(x, -1).shape());
        assertArrayEquals(new long[] {2, 3}, squeeze(x, 0).shape());
        assertArrayEquals(new long[] {6}, flatten(x, 0, -1).shape());
        assertArrayEquals(new long[0], reshape(Tensor.of(Nd4j.createFromArray(7.0))).shape());
    }

    @Test
    void narrowSliceAndExpandValues() {
        Tensor x = Tensor.of(Nd4j.createFromArray(new double[][] {{0, 1, 2, 3}, {4, 5, 6, 7}}));
        assertValues(new double[][] {{1, 2}, {5, 6}}, narrow(x, 1, 1, 2));
        assertValues(new double[][] {{2, 3}, {6, 7}}, narrow(x, -1, -2, 2));
        assertValues(new double[][] {{1, 2}, {5, 6}}, slice(x, 1, 1, -1));
        assertValues(new double[][] {{4, 5, 6, 7}}, slice(x, 0, 1, 100));
        assertArrayEquals(new long[] {2, 0}, slice(x, 1, 3, 1).shape());
        Tensor col = Tensor.of(Nd4j.createFromArray(new double[][] {{1}, {2}}));
        assertValues(new double[][] {{1, 1, 1}, {2, 2, 2}}, expand(col, -1, 3));
        assertArrayEquals(new long[] {4, 2, 3}, expand(col, 4, 2, 3).shape());
    }

    @Test
    void repeatInterleaveMatchesTorchDocs() {
        // torch.repeat_interleave(y, 3, dim=1) with y = [[1, 2], [3, 4]] and the dim-0 variant.
        Tensor y = Tensor.of(Nd4j.createFromArray(new double[][] {{1, 2}, {3, 4}})).requiresGrad(true);
        assertValues(new double[][] {{1, 1, 1, 2, 2, 2}, {3, 3, 3, 4, 4, 4}}, repeatInterleave(y, 3, 1));
        Tensor rows = repeatInterleave(y, 2, 0);
        assertValues(new double[][] {{1, 2}, {1, 2}, {3, 4}, {3, 4}}, rows);
        rows.backward(Nd4j.createFromArray(new double[][] {{1, 2}, {3, 4}, {5, 6}, {7, 8}}));
        assertArrayEquals(new double[] {4, 6, 12, 14}, y.grad().reshape(4).toDoubleVector(), 0);   // 1+3, 2+4, ...
    }

    @Test
    void repeatInterleaveRepeatsEachKvHeadForItsQueryGroup() {
        INDArray k = Nd4j.createFromArray(new double[] {10, 20}).reshape(1, 2, 1, 1);   // [B=1, G=2, T=1, D=1]
        Tensor heads = repeatInterleave(Tensor.of(k), 2, 1);                               // [1, H=4, 1, 1]
        assertArrayEquals(new long[] {1, 4, 1, 1}, heads.shape());
        assertArrayEquals(new double[] {10, 10, 20, 20}, heads.value().reshape(4).toDoubleVector(), 0);
    }

    @Test
    void concatStackAndSplitValues() {
        Tensor a = Tensor.of(Nd4j.createFromArray(new double[][] {{1, 2}}));
        Tensor b = Tensor.of(Nd4j.createFromArray(new double[][] {{3, 4}}));
        assertValues(new double[][] {{1, 2}, {3, 4}}, concat(0, a, b));
        assertValues(new double[][] {{1, 2, 3, 4}}, concat(-1, a, b));
        Tensor u = Tensor.of(Nd4j.createFromArray(1.0, 2.0));
        Tensor v = Tensor.of(Nd4j.createFromArray(3.0, 4.0));
        assertValues(new double[][] {{1, 3}, {2, 4}}, stack(1, u, v));
        assertValues(new double[][] {{1, 2}, {3, 4}}, stack(0, u, v));
        Tensor[] chunks = split(Tensor.of(Nd4j.createFromArray(0.0, 1.0, 2.0, 3.0, 4.0)), 0, 2L);
        assertEquals(3, chunks.length);
        assertArrayEquals(new double[] {4}, chunks[2].value().toDoubleVector(), 0);
        Tensor[] parts = split(Tensor.of(Nd4j.createFromArray(0.0, 1.0, 2.0, 3.0, 4.0)), -1, 1, 4);
        assertArrayEquals(new double[] {1, 2, 3, 4}, parts[1].value().toDoubleVector(), 0);
    }

    @Test
    void concatOfOneTensorTwiceAddsBothGradients() {
        Tensor x = Tensor.of(Nd4j.createFromArray(1.0, 2.0)).requiresGrad(true);
        concat(0, x, x, x).backward(Nd4j.createFromArray(1.0, 2.0, 3.0, 4.0, 5.0, 6.0));
        assertArrayEquals(new double[] {9, 12}, x.grad().toDoubleVector(), 0);
    }

    @Test
    void opsKeepFloat32() {
        Tensor x = Tensor.of(Nd4j.ones(DataType.FLOAT, 2, 3));
        for (Tensor t : new Tensor[] {reshape(x, 3, 2), permute(x, 1, 0), narrow(x, 1, 0, 2), expand(x, 4, 2, 3),
            repeatInterleave(x, 2, 0), concat(0, x, x), stack(0, x, x), split(x, 1, 1L)[0]}) {
            assertEquals(DataType.FLOAT, t.dtype());
        }
    }

    @Test
    void badShapesAreReportedWithTheirShapes() {
        Tensor x = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 2, 3));
        Tensor y = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 2, 4));
        assertMessage(() -> reshape(x, 4, 2), "reshape", "[2, 3]", "6 elements", "[4, 2]");
        assertMessage(() -> reshape(x, -1, -1), "reshape", "[-1, -1]");
        assertMessage(() -> reshape(x, 4, -1), "reshape", "[4, -1]");
        assertMessage(() -> concat(0, x, y), "concat", "xs[1]", "[2, 4]", "[2, 3]", "dim 0");
        assertMessage(() -> concat(1, x, Tensor.of(Nd4j.zeros(DataType.FLOAT, 2, 3))), "concat", "xs[1]", "FLOAT");
        assertMessage(() -> stack(0, x, y), "stack", "xs[1]", "[2, 4]");
        assertMessage(() -> split(x, 1, 1, 1), "split", "[1, 1]", "3", "[2, 3]");
        assertMessage(() -> permute(x, 0, 0), "permute", "appears twice", "[2, 3]");
        assertMessage(() -> permute(x, 1), "permute", "[2, 3]");
        assertMessage(() -> narrow(x, 1, 2, 2), "narrow", "start 2", "length 2", "[2, 3]");
        assertMessage(() -> expand(x, 4, 3), "expand", "[2, 3]", "[4, 3]");
        assertMessage(() -> expand(x, -1, 3, 3), "expand", "[-1, 3, 3]");
        assertMessage(() -> repeatInterleave(x, 0, 0), "repeatInterleave", "repeats", "[2, 3]");
        assertMessage(() -> unsqueeze(x, 3), "unsqueeze", "dim 3", "[2, 3]");
        assertMessage(() -> transpose(x, 0, -3), "transpose", "dim -3", "[2, 3]");
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
