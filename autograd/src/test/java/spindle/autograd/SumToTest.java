// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.kernels.NativeKernels;
import spindle.autograd.kernels.SmallKernels;
import spindle.testing.NativeRequirement;

/**
 * A broadcast input's gradient summed down natively (MLA's k_pe shared by the heads, a bias over the rows): no ND4J
 * op, and bit for bit ND4J's sum, which adds these in the same row-major order in float32, for sums of up to
 * {@link Broadcasting#NATIVE_MAX_TERMS} terms (longer ones stay on ND4J).
 */
class SumToTest {
    @Test
    void nativeSumsEqualNd4jBitForBitWithoutAnOp() {
        Optional<String> skip = NativeRequirement.unavailable(NativeKernels.whyNot());
        assumeTrue(skip.isEmpty(), skip.orElse(""));
        Nd4j.getRandom().setSeed(3);
        long[][][] cases = {{{8, 4, 48, 8}, {8, 1, 48, 8}}, {{8, 16, 256, 32}, {8, 1, 256, 32}}, {{192, 64}, {64}},
            {{3, 5, 7}, {1, 5, 1}}, {{60, 6}, {60, 1}}, {{4, 64, 5}, {5}}, {{2048, 64}, {64}}, {{4, 512, 8}, {4, 1, 8}}};
        for (long[][] c : cases) {
            INDArray g = Nd4j.randn(DataType.FLOAT, c[0]);
            INDArray[] nat = new INDArray[1];
            long ops = GradArraysTest.backwardOps(() -> nat[0] = Broadcasting.sumTo(g, c[1], "test"));
            assertEquals(0, ops, "ND4J ops summing " + Arrays.toString(c[0]));
            INDArray nd4j;
            try (SmallKernels.Scope off = NativeKernels.off()) {
                nd4j = Broadcasting.sumTo(g, c[1], "test");
            }
            assertArrayEquals(c[1], nat[0].shape(), "shape");
            assertArrayEquals(nd4j.dup('c').data().asFloat(), nat[0].dup('c').data().asFloat(), Arrays.toString(c[0]));
        }
    }
}
