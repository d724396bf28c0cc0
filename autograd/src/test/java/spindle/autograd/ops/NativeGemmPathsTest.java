// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.junit.jupiter.api.Named.named;
import static spindle.autograd.ops.KernelPaths.assertClose;
import static spindle.autograd.ops.KernelPaths.input;
import static spindle.autograd.ops.KernelPaths.runNative;

import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;
import spindle.autograd.TensorFunction;
import spindle.autograd.kernels.NativeGemm;
import spindle.autograd.kernels.NativeKernels;
import spindle.autograd.kernels.SmallKernels;
import spindle.testing.NativeRequirement;

/**
 * Float32 matmul, linear and causal attention, forward and backward, with the native gemm and with BLAS (on one
 * thread, as in the data-parallel trainer, where the native gemm also takes products above 2^24): the
 * values and every input gradient agree within float32 rounding (the products sum in another order), and the
 * native path's forward runs no ND4J op for its products.
 */
class NativeGemmPathsTest {
    private static final double TOL = 1e-4;   // relative to 1 + |BLAS's value|; sums of up to 172 terms of [-2, 2)²

    /** An op with its inputs' shapes, and how many products its forward runs (each an ND4J op on the BLAS path). */
    record PathCase(TensorFunction f, int products, long[]... shapes) {}

    static Stream<Named<PathCase>> cases() {
        return Stream.of(
            named("linear, small-mha's MLP up projection", new PathCase(in -> Linalg.linear(in[0], in[1], in[2]), 1,
                new long[] {2, 32, 64}, new long[] {172, 64}, new long[] {172})),
            named("linear above 2^24 multiply-adds, a shared config's MLP up projection", new PathCase(in ->
                Linalg.linear(in[0], in[1], in[2]), 1, new long[] {2, 512, 256}, new long[] {688, 256}, new long[] {688})),
            named("linear of a narrowed x (rows with a stride)", new PathCase(in -> Linalg.linear(Shapes.narrow(in[0], 1, 3, 64),
                in[1], null), 1, new long[] {40, 70}, new long[] {33, 64})),
            named("matmul, a matrix times a matrix", new PathCase(in -> Linalg.matmul(in[0], in[1]), 1,
                new long[] {2, 5, 33}, new long[] {33, 17})),
            named("matmul, batches that broadcast", new PathCase(in -> Linalg.matmul(in[0], in[1]), 1,
                new long[] {3, 1, 7, 9}, new long[] {4, 9, 5})),
            named("matmul, vector times batch", new PathCase(in -> Linalg.matmul(in[0], in[1]), 1,
                new long[] {9}, new long[] {4, 9, 5})),
            named("causal attention, small-mha's heads", new PathCase(in -> Attention.causal(in[0], in[1], in[2], 0.25,
                null, 1), 2, new long[] {2, 4, 32, 16}, new long[] {2, 4, 32, 16}, new long[] {2, 4, 32, 16})),
            named("causal attention, grouped queries in 2 blocks", new PathCase(in -> Attention.causal(in[0], in[1], in[2],
                0.25, null, 2), 4, new long[] {2, 4, 48, 16}, new long[] {2, 2, 48, 16}, new long[] {2, 2, 48, 8})));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void nativeGemmAgreesWithBlasInValueAndGradients(PathCase c) {
        Optional<String> skip = NativeRequirement.unavailable(NativeKernels.whyNot());
        assumeTrue(skip.isEmpty(), skip.orElse(""));
        assumeTrue(NativeGemm.enabled(), "skipped: " + NativeGemm.whyNot());
        Tensor[] in = new Tensor[c.shapes().length];
        for (int i = 0; i < in.length; i++) {
            in[i] = input(40 + i, DataType.FLOAT, c.shapes()[i]);
        }
        KernelPaths.Run nat;
        KernelPaths.Run blas;
        int blasThreads = Nd4j.factory().blas().getMaxThreads();
        Nd4j.factory().blas().setMaxThreads(1);   // as the data-parallel trainer: the native gemm takes large products too
        try {
            nat = runNative(c.f(), in);
            try (SmallKernels.Scope off = NativeGemm.off()) {
                blas = runNative(c.f(), in);
            }
        } finally {
            Nd4j.factory().blas().setMaxThreads(blasThreads);
        }
        assertClose("value", blas.value(), nat.value(), TOL);
        assertEquals(blas.grads().size(), nat.grads().size());
        for (int i = 0; i < nat.grads().size(); i++) {
            assertClose("gradient of input " + i, blas.grads().get(i), nat.grads().get(i), TOL);
        }
        assertEquals(blas.forwardOps() - c.products(), nat.forwardOps(), "ND4J ops in the forward: BLAS's less its products");
    }
}
