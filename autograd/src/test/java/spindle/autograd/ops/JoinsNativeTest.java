// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.Tensor;
import spindle.autograd.TensorFunction;
import spindle.autograd.kernels.NativeKernels;
import spindle.testing.NativeRequirement;

/**
 * concat and stack with float32 parts copied natively into their windows, against ND4J's copies (native off), bit
 * for bit in value and gradients, for every dim and for dense, permuted, offset (a channel slice) and broadcast
 * (stride 0) parts; the native forward runs fewer ND4J ops (none for the copies).
 */
class JoinsNativeTest {
    @Test
    void concatOfEveryKindOfPartEqualsNd4jBitForBit() {
        requireNative();
        for (int dim = 0; dim < 4; dim++) {
            int d = dim;
            long[] wide = {3, 4, 5, 6};
            wide[d] = 4 + d;
            TensorFunction f = in -> Joins.concat(d, in[0], Shapes.transpose(in[1], 1, 2), Shapes.narrow(in[2], d, 1, 2),
                Shapes.expand(in[3], 3, 4, 5, 6));
            assertSamePaths("concat along " + d, f, input(1, 3, 4, 5, 6), input(2, 3, 5, 4, 6), input(3, wide),
                input(4, 3, 1, 5, 6));
        }
    }

    @Test
    void stackAtEveryDimEqualsNd4jBitForBit() {
        requireNative();
        for (int dim = 0; dim <= 3; dim++) {
            int d = dim;
            TensorFunction f = in -> Joins.stack(d, in[0], Shapes.transpose(in[1], 0, 1), Shapes.narrow(in[2], 2, 3, 6),
                in[0]);
            assertSamePaths("stack at " + d, f, input(1, 4, 5, 6), input(2, 5, 4, 6), input(3, 4, 5, 9));
        }
    }

    private static void assertSamePaths(String what, TensorFunction f, Tensor... in) {
        KernelPaths.Run nd4j = KernelPaths.run(f, 0, in);
        KernelPaths.Run nat = KernelPaths.runNative(f, in);
        assertTrue(nat.forwardOps() < nd4j.forwardOps(), what + ": the native forward runs " + nat.forwardOps()
            + " ND4J ops (the parts' views), ND4J's " + nd4j.forwardOps());
        assertBits(what + " value", nd4j.value(), nat.value());
        for (int i = 0; i < in.length; i++) {
            assertBits(what + " gradient " + i, nd4j.grads().get(i), nat.grads().get(i));
        }
    }

    private static void assertBits(String what, INDArray expected, INDArray actual) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        float[] x = expected.dup('c').data().asFloat();
        float[] y = actual.dup('c').data().asFloat();
        for (int i = 0; i < x.length; i++) {
            if (Float.floatToIntBits(x[i]) != Float.floatToIntBits(y[i])) {
                throw new AssertionError(what + " differs at " + i + ": ND4J " + x[i] + ", native " + y[i]);
            }
        }
    }

    private static Tensor input(long seed, long... shape) {
        return Tensor.of(KernelPaths.uniform(new SplittableRandom(seed), DataType.FLOAT, shape));
    }

    private static void requireNative() {
        Optional<String> skip = NativeRequirement.unavailable(NativeKernels.whyNot());
        assumeTrue(skip.isEmpty(), skip.orElse(""));
    }
}
