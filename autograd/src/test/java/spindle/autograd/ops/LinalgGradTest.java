// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Named.named;
import static spindle.autograd.GradCase.shape;
import static spindle.autograd.ops.Linalg.linear;
import static spindle.autograd.ops.Linalg.matmul;

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
import spindle.autograd.Tensor;

/** Gradients of matmul (2-D, vector and broadcast batched cases) and linear; values against hand loops. */
class LinalgGradTest {

    static Stream<Named<GradCase>> cases() {
        return Stream.of(
            named("matmul [3,4] x [4,5]", mm(shape(3, 4), shape(4, 5))),
            named("matmul vector . vector -> scalar", mm(shape(4), shape(4))),
            named("matmul vector [4] x [4,5]", mm(shape(4), shape(4, 5))),
            named("matmul [3,4] x vector [4]", mm(shape(3, 4), shape(4))),
            named("matmul [2,3,4] x [4,5], folded into one gemm", mm(shape(2, 3, 4), shape(4, 5))),
            named("matmul [2,3,4] x vector [4]", mm(shape(2, 3, 4), shape(4))),
            named("matmul vector [4] x [2,4,5]", mm(shape(4), shape(2, 4, 5))),
            named("matmul [2,2,3,4] x [2,2,4,5], equal batches", mm(shape(2, 2, 3, 4), shape(2, 2, 4, 5))),
            named("matmul [2,1,3,4] x [5,4,6], broadcast batches", mm(shape(2, 1, 3, 4), shape(5, 4, 6))),
            named("matmul [3,4] x [2,4,5], matrix times batch", mm(shape(3, 4), shape(2, 4, 5))),
            named("matmul [2,3,4] x [1,4,5], size-1 batch", mm(shape(2, 3, 4), shape(1, 4, 5))),
            named("linear [2,3,4] x W[5,4] + b[5]", GradCase.of(in -> linear(in[0], in[1], in[2]),
                shape(2, 3, 4), shape(5, 4), shape(5))),
            named("linear [3,4] x W[2,4], no bias", GradCase.of(in -> linear(in[0], in[1], null), shape(3, 4), shape(2, 4))),
            named("linear vector [4] x W[3,4] + b[3]", GradCase.of(in -> linear(in[0], in[1], in[2]),
                shape(4), shape(3, 4), shape(3))));
    }

    private static GradCase mm(long[] a, long[] b) {
        return GradCase.of(in -> matmul(in[0], in[1]), a, b);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientMatchesCentralDifferences(GradCase c) {
        c.assertMatches(new SplittableRandom(23));
    }

    private static Tensor t(INDArray v) {
        return Tensor.of(v).requiresGrad(true);
    }

    @Test
    void smallProductsHaveTheHandComputedValues() {
        Tensor a = t(Nd4j.createFromArray(new double[][] {{1, 2}, {3, 4}}));
        Tensor b = t(Nd4j.createFromArray(new double[][] {{5, 6}, {7, 8}}));
        assertArrayEquals(new double[] {19, 22, 43, 50}, matmul(a, b).value().reshape(4).toDoubleVector(), 0);
        Tensor dot = matmul(t(Nd4j.createFromArray(1.0, 2.0, 3.0)), t(Nd4j.createFromArray(4.0, 5.0, 6.0)));
        assertArrayEquals(new long[0], dot.shape());
        assertEquals(32, dot.item(), 0);
        Tensor y = linear(a, b, t(Nd4j.createFromArray(10.0, 20.0)));   // a . b^T + bias
        assertArrayEquals(new double[] {27, 43, 49, 73}, y.value().reshape(4).toDoubleVector(), 0);
    }

    @Test
    void float32InputsGiveFloat32Products() {
        Tensor a = Tensor.of(Nd4j.ones(DataType.FLOAT, 2, 3, 4));
        Tensor w = Tensor.of(Nd4j.ones(DataType.FLOAT, 5, 4));
        assertEquals(DataType.FLOAT, matmul(a, Tensor.of(Nd4j.ones(DataType.FLOAT, 2, 4, 5))).dtype());
        Tensor y = linear(a, w, Tensor.of(Nd4j.ones(DataType.FLOAT, 5)));
        assertEquals(DataType.FLOAT, y.dtype());
        assertEquals(5, y.value().getDouble(1, 2, 3), 0);
    }

    @Test
    void broadcastBatchedProductMatchesAHandLoop() {
        SplittableRandom rng = new SplittableRandom(5);
        INDArray a = random(rng, 2, 1, 3, 4);
        INDArray b = random(rng, 5, 4, 6);
        INDArray out = matmul(Tensor.of(a), Tensor.of(b)).value();
        assertArrayEquals(new long[] {2, 5, 3, 6}, out.shape());
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 5; j++) {
                for (int r = 0; r < 3; r++) {
                    for (int c = 0; c < 6; c++) {
                        double s = 0;
                        for (int k = 0; k < 4; k++) {
                            s += a.getDouble(i, 0, r, k) * b.getDouble(j, k, c);
                        }
                        assertEquals(s, out.getDouble(i, j, r, c), 1e-12);
                    }
                }
            }
        }
    }

    @Test
    void transposedViewsGiveTheSameResultAsContiguousCopies() {
        SplittableRandom rng = new SplittableRandom(6);
        INDArray at = random(rng, 4, 3).transpose();   // [3, 4], not contiguous
        INDArray b = random(rng, 4, 5);
        INDArray q = random(rng, 2, 5, 3, 4).permute(0, 2, 1, 3);   // [2, 3, 5, 4] view
        INDArray k = random(rng, 2, 3, 4, 6);
        assertEquals(0, maxAbsDiff(matmul(Tensor.of(at), Tensor.of(b)).value(), at.dup('c').mmul(b)), 1e-12);
        INDArray viaView = matmul(Tensor.of(q), Tensor.of(k)).value();
        INDArray viaCopy = matmul(Tensor.of(q.dup('c')), Tensor.of(k)).value();
        assertEquals(0, maxAbsDiff(viaView, viaCopy), 1e-12);
    }

    @Test
    void linearEqualsMatmulWithTheTransposedWeightPlusBias() {
        SplittableRandom rng = new SplittableRandom(7);
        INDArray xv = random(rng, 2, 3, 4);
        INDArray wv = random(rng, 5, 4);
        INDArray bv = random(rng, 5);
        INDArray seed = random(rng, 2, 3, 5);
        Tensor x1 = t(xv.dup());
        Tensor w1 = t(wv.dup());
        Tensor b1 = t(bv.dup());
        Tensor fused = linear(x1, w1, b1);
        Tensor x2 = t(xv.dup());
        Tensor wt = t(wv.transpose().dup('c'));
        Tensor b2 = t(bv.dup());
        Tensor composite = Elementwise.add(matmul(x2, wt), b2);
        assertEquals(0, maxAbsDiff(fused.value(), composite.value()), 1e-12);
        List<INDArray> gf = Autograd.grad(List.of(fused), List.of(x1, w1, b1), List.of(seed), false);
        List<INDArray> gc = Autograd.grad(List.of(composite), List.of(x2, wt, b2), List.of(seed), false);
        assertEquals(0, maxAbsDiff(gf.get(0), gc.get(0)), 1e-12);
        assertEquals(0, maxAbsDiff(gf.get(1), gc.get(1).transpose()), 1e-12);
        assertEquals(0, maxAbsDiff(gf.get(2), gc.get(2)), 1e-12);
    }

    @Test
    void mismatchedShapesAreReportedWithBothShapes() {
        Tensor a = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 2, 3));
        Tensor b = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 4, 5));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> matmul(a, b));
        assertEquals("matmul: a has shape [2, 3] and b has shape [4, 5]; a's last dim (3) must equal b's"
            + " second-to-last dim (4)", e.getMessage());
        Tensor c = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 2, 3, 4));
        Tensor d = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 3, 4, 5));
        e = assertThrows(IllegalArgumentException.class, () -> matmul(c, d));
        assertEquals("matmul: a has shape [2, 3, 4] and b has shape [3, 4, 5]; their batch dims [2] and [3]"
            + " do not broadcast", e.getMessage());
        Tensor w = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 5, 2));
        e = assertThrows(IllegalArgumentException.class, () -> linear(c, w, null));
        assertTrue(e.getMessage().contains("x has shape [2, 3, 4]") && e.getMessage().contains("weight has shape [5, 2]"),
            e.getMessage());
        Tensor f = Tensor.of(Nd4j.zeros(DataType.FLOAT, 3, 4));
        e = assertThrows(IllegalArgumentException.class, () -> matmul(a, f));
        assertTrue(e.getMessage().contains("DOUBLE and FLOAT"), e.getMessage());
    }

    static INDArray random(SplittableRandom rng, long... shape) {
        INDArray v = Nd4j.create(DataType.DOUBLE, shape);
        for (long i = 0; i < v.length(); i++) {
            v.putScalar(i, rng.nextDouble(-1, 1));
        }
        return v;
    }

    /** max |a - b|, NaN when either side holds a NaN (ND4J's amaxNumber skips NaN elements, Math.max keeps them). */
    static double maxAbsDiff(INDArray a, INDArray b) {
        return Arrays.stream(a.sub(b).dup('c').data().asDouble()).map(Math::abs).reduce(0, Math::max);
    }
}
