// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static spindle.autograd.GradCase.shape;
import static spindle.autograd.ops.KernelPaths.assertSameBits;

import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Autograd;
import spindle.autograd.GradCase;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.NativeKernels;
import spindle.autograd.kernels.SmallKernels;
import spindle.testing.NativeRequirement;

/**
 * ExpertCombine: native against the Java kernel bit for bit (value and both gradients; a row picked by several
 * slots, as a dropped slot's zero row is; edge values; above the Java kernel's default limit), the Java kernel
 * against the ND4J chain it replaces (row gather, product with the weights, sum over the slots) in float64, and the
 * gradients against central differences.
 */
class ExpertCombineTest {
    private static final float[] EDGES = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f,
        Float.MIN_VALUE, 1e-40f, 1e30f, -1e30f, Float.MAX_VALUE};

    @ParameterizedTest(name = "rows [{0},{1}], weights [{2},{3}]")
    @CsvSource({"7, 5, 4, 2", "577, 64, 192, 3", "4097, 256, 2048, 2"})
    void nativeEqualsTheJavaKernelBitForBit(int m, int h, int n, int k) {
        Optional<String> skip = NativeRequirement.unavailable(NativeKernels.whyNot());
        assumeTrue(skip.isEmpty(), skip.orElse(""));
        INDArray rows = KernelPaths.uniform(new SplittableRandom(1), DataType.FLOAT, m, h);
        for (int i = 0; i < EDGES.length; i++) {
            rows.putScalar(i % m, (i * 3) % h, EDGES[i]);
        }
        INDArray w = KernelPaths.uniform(new SplittableRandom(2), DataType.FLOAT, n, k);
        long[] row = rowsOfSlots(m, n, k);
        Combined nat = combined(rows, w, row);
        Combined java;
        try (SmallKernels.Scope off = NativeKernels.off(); SmallKernels.Scope all = SmallKernels.limit(Long.MAX_VALUE)) {
            java = combined(rows, w, row);
        }
        assertSameBits("value", java.y, nat.y);
        assertSameBits("rows' gradient", java.drows, nat.drows);
        assertSameBits("weights' gradient", java.dw, nat.dw);
    }

    @Test
    void javaKernelMatchesTheNd4jChainInFloat64() {
        int m = 13;
        int h = 6;
        int n = 9;
        int k = 3;
        INDArray rows = Nd4j.rand(DataType.DOUBLE, m, h).subi(0.5);
        INDArray w = Nd4j.rand(DataType.DOUBLE, n, k);
        long[] row = rowsOfSlots(m, n, k);
        Combined kernel;
        try (SmallKernels.Scope off = NativeKernels.off()) {
            kernel = combined(rows, w, row);
        }
        Tensor r = Tensor.of(rows.dup()).requiresGrad(true);
        Tensor wt = Tensor.of(w.dup()).requiresGrad(true);
        Tensor perSlot = Indexing.indexSelect(r, 0, Tensor.of(Nd4j.createFromArray(row)));
        Tensor y = Reductions.sum(Elementwise.mul(Shapes.reshape(perSlot, n, k, h), Shapes.unsqueeze(wt, 2)), false, 1);
        List<INDArray> grads = Autograd.grad(List.of(y), List.of(r, wt), List.of(seed(y.value())), false);
        KernelPaths.assertClose("value", y.value(), kernel.y, 1e-15);
        KernelPaths.assertClose("rows' gradient", grads.get(0), kernel.drows, 1e-15);
        KernelPaths.assertClose("weights' gradient", grads.get(1), kernel.dw, 1e-14);
    }

    @Test
    void gradientsMatchCentralDifferences() {
        long[] row = {0, 2, 4, 4, 1, 3};   // row 4 picked twice
        GradCase.of(in -> ExpertCombine.combine(in[0], in[1], row), shape(5, 4), shape(3, 2))
            .assertMatches(new SplittableRandom(81));
    }

    @Test
    void badInputsAreRefusedWithTheirShapes() {
        Tensor rows = Tensor.of(Nd4j.rand(DataType.FLOAT, 4, 3));
        Tensor w = Tensor.of(Nd4j.rand(DataType.FLOAT, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> ExpertCombine.combine(rows, w, new long[] {0, 1, 4, 2}));
        assertThrows(IllegalArgumentException.class, () -> ExpertCombine.combine(rows, w, new long[] {0, 1, 2}));
        assertFalse(ExpertCombine.fits(rows, Tensor.of(Nd4j.rand(DataType.DOUBLE, 2, 2))), "mixed dtypes");
    }

    private record Combined(INDArray y, INDArray drows, INDArray dw) {}

    private static Combined combined(INDArray rows, INDArray w, long[] row) {
        Tensor r = Tensor.of(rows.dup()).requiresGrad(true);
        Tensor wt = Tensor.of(w.dup()).requiresGrad(true);
        Tensor y = ExpertCombine.combine(r, wt, row);
        List<INDArray> grads = Autograd.grad(List.of(y), List.of(r, wt), List.of(seed(y.value())), false);
        return new Combined(y.value(), grads.get(0), grads.get(1));
    }

    /** Distinct rows for most slots, the last row for every fifth slot (a dropped slot's shared zero row). */
    private static long[] rowsOfSlots(int m, int n, int k) {
        long[] row = new long[n * k];
        for (int p = 0; p < row.length; p++) {
            row[p] = p % 5 == 4 ? m - 1 : (p * 7L) % (m - 1);
        }
        return row;
    }

    private static INDArray seed(INDArray like) {
        return KernelPaths.uniform(new SplittableRandom(5), like.dataType(), like.shape());
    }
}
