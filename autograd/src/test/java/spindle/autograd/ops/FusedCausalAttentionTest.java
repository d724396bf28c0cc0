// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static spindle.autograd.ops.KernelPaths.assertClose;
import static spindle.autograd.ops.KernelPaths.input;
import static spindle.autograd.ops.KernelPaths.runNative;

import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.autograd.Tensor;
import spindle.autograd.TensorFunction;
import spindle.autograd.kernels.NativeGemm;
import spindle.autograd.kernels.NativeKernels;
import spindle.autograd.kernels.SmallKernels;
import spindle.testing.NativeRequirement;

/**
 * Float32 causal attention on the fused path (one native call forward, one backward) against the blocked path
 * with BLAS products (the native gemm off turns the fused path off): value and every input gradient within float32
 * rounding, for MHA, GQA, MQA and MLA-like heads passed as the layers pass them (transposed [B, T, H, D] views),
 * and the fused forward runs no ND4J op.
 */
class FusedCausalAttentionTest {
    private static final double TOL = 1e-4;   // relative to 1 + |BLAS path's value|

    /** {B, T, H, Hkv, D, Dv}. */
    static Stream<long[]> sizes() {
        return Stream.of(new long[] {4, 32, 4, 4, 16, 16}, new long[] {4, 32, 4, 2, 16, 16},
            new long[] {4, 32, 4, 1, 16, 16}, new long[] {2, 48, 4, 4, 24, 16}, new long[] {2, 100, 6, 2, 8, 5});
    }

    @ParameterizedTest
    @MethodSource("sizes")
    void fusedPathAgreesWithTheBlockedPath(long[] s) {
        Optional<String> skip = NativeRequirement.unavailable(NativeKernels.whyNot());
        assumeTrue(skip.isEmpty(), skip.orElse(""));
        assumeTrue(NativeGemm.enabled(), "skipped: " + NativeGemm.whyNot());
        TensorFunction f = in -> Attention.causal(Shapes.transpose(in[0], 1, 2), Shapes.transpose(in[1], 1, 2),
            Shapes.transpose(in[2], 1, 2), 1 / Math.sqrt(s[4]), null);
        Tensor[] in = {input(60, DataType.FLOAT, s[0], s[1], s[2], s[4]), input(61, DataType.FLOAT, s[0], s[1], s[3], s[4]),
            input(62, DataType.FLOAT, s[0], s[1], s[3], s[5])};
        KernelPaths.Run fused = runNative(f, in);
        KernelPaths.Run blocked;
        try (SmallKernels.Scope off = NativeGemm.off()) {
            blocked = runNative(f, in);
        }
        assertClose("value", blocked.value(), fused.value(), TOL);
        assertEquals(3, fused.grads().size());
        for (int i = 0; i < 3; i++) {
            assertNotNull(fused.grads().get(i), "gradient of input " + i);
            assertClose("gradient of input " + i, blocked.grads().get(i), fused.grads().get(i), TOL);
        }
        assertEquals(0, fused.forwardOps(), "ND4J ops in the fused forward");
        assertTrue(blocked.forwardOps() > 0, "the blocked path runs its products as ND4J ops");
    }
}
