// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.kernels.NativeKernels;
import spindle.autograd.kernels.SmallKernels;
import spindle.testing.NativeRequirement;

/**
 * The native float32 fake quantization ({@link spindle.autograd.kernels.NativeFakeQuant}) against the Java loops,
 * bit for bit: the fake-quantized values (sign of zero included) and the straight-through gradient, which shows
 * the clamp mask and each block's scale and 1/scale (every NaN counted alike), for every float32 grid, on blocks full of ties, clamped
 * values, zeros of both signs, an all-zero block and a block holding a NaN.
 */
class NativeFakeQuantTest {
    private static final QuantGrid[] GRIDS = {QuantGrid.INT8_ASYMMETRIC, QuantGrid.INT4_SYMMETRIC, QuantGrid.INT8_SYMMETRIC};

    @Test
    void nativeLoopsEqualTheJavaLoopsBitForBit() {
        Optional<String> skip = NativeRequirement.unavailable(NativeKernels.whyNot());
        assumeTrue(skip.isEmpty(), skip.orElse(""));
        SplittableRandom rng = new SplittableRandom(3);
        for (QuantGrid grid : GRIDS) {
            for (int block : new int[] {1, 7, 32, 64, 688}) {
                int blocks = 9;
                float[] v = new float[blocks * block];
                for (int b = 0; b < blocks; b++) {
                    System.arraycopy(FloatFakeQuantTest.block(rng, Math.max(block, 2), b), 0, v, b * block, block);
                }
                Arrays.fill(v, block, 2 * block, 0f);            // an all-zero block
                v[3 * block + block / 2] = Float.NaN;                        // a block with a NaN
                INDArray x = Nd4j.create(v, new long[] {blocks, block}, 'c');
                INDArray g = Nd4j.rand(DataType.FLOAT, blocks, block).subi(0.5);
                float[][] nativeResult = run(grid, x, g, block);
                float[][] javaResult;
                try (SmallKernels.Scope off = NativeKernels.off()) {
                    javaResult = run(grid, x, g, block);
                }
                for (int k = 0; k < 2; k++) {
                    for (int i = 0; i < v.length; i++) {
                        assertEquals(bits(javaResult[k][i]), bits(nativeResult[k][i]),
                            grid + " block " + block + (k == 0 ? " value " : " gradient ") + i + " (x = " + v[i] + "): java "
                                + javaResult[k][i] + ", native " + nativeResult[k][i]);
                    }
                }
            }
        }
    }

    /** The float's bits, the sign of zero included; every NaN alike (the JIT and the C compiler may pick other NaN bits). */
    private static int bits(float f) {
        return Float.floatToIntBits(f);
    }

    /** {fake-quantized x, gradient passed for g}, both as float arrays. */
    private static float[][] run(QuantGrid grid, INDArray x, INDArray g, int block) {
        FakeQuantKernel k = new FakeQuantKernel(grid, x, block, Precision.FLOAT32);
        return new float[][] {k.out.dup('c').data().asFloat(), k.passGradient(g).dup('c').data().asFloat()};
    }
}
