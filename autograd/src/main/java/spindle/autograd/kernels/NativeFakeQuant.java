// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Float32 fake quantization in native code (fake_quant.c), for the grids that multiply by 1/scale: blocks of
 * {@code block} consecutive values (c order) each get {scale, zero point, 1/scale} from their own min and max, and
 * every value its code, clamp and dequantized value, in float32 operations in torch's order. spindle.layers.qat
 * states the formulas and keeps the Java loops that compute the same values bitwise.
 */
public final class NativeFakeQuant {
    /** The grids, numbered as in fake_quant.c. */
    public enum Grid {
        /** int8 asymmetric per block (8da4w's activations). */
        INT8_ASYMMETRIC,
        /** int4 symmetric (8da4w's weights). */
        INT4_SYMMETRIC,
        /** int8 symmetric (int8 weight-only). */
        INT8_SYMMETRIC
    }

    private NativeFakeQuant() {}

    /** True when the native kernel can take these arrays: library on, all dense float32, blocks covering them. */
    public static boolean fits(int block, INDArray... arrays) {
        if (!NativeKernels.enabled() || block < 1) {
            return false;
        }
        for (INDArray a : arrays) {
            if (!NativeKernels.denseFloats(a) || a.length() % block != 0 || a.length() > Integer.MAX_VALUE) {
                return false;
            }
        }
        return true;
    }

    /**
     * out = fake-quantized in, with each block's scale and 1/scale stored into {@code scales} and {@code inverses}
     * and, for each element whose code the clamp left alone, its bit set in {@code pass} (bit i % 64 of word i / 64).
     */
    public static void quantize(Grid grid, INDArray in, INDArray out, int block, double[] scales, double[] inverses,
                                long[] pass) {
        int blocks = (int) (in.length() / block);
        check(blocks, scales, inverses, pass, in.length());
        quantize(grid.ordinal(), NativeKernels.address(in), NativeKernels.address(out), blocks, block, scales, inverses,
            pass);
    }

    /** out = (g * scale) * (1/scale) of g's block where the element's bit is set in {@code pass}, else 0. */
    public static void passGradient(INDArray g, INDArray out, int block, double[] scales, double[] inverses,
                                    long[] pass) {
        int blocks = (int) (g.length() / block);
        check(blocks, scales, inverses, pass, g.length());
        passGradient(NativeKernels.address(g), NativeKernels.address(out), blocks, block, scales, inverses, pass);
    }

    private static void check(int blocks, double[] scales, double[] inverses, long[] pass, long length) {
        if (scales.length < blocks || inverses.length < blocks || pass.length < (length + 63) / 64) {
            throw new IllegalArgumentException("NativeFakeQuant: " + blocks + " blocks of " + length + " values need "
                + blocks + " scales and inverses and " + (length + 63) / 64 + " pass words, got " + scales.length
                + ", " + inverses.length + " and " + pass.length);
        }
    }

    private static native void quantize(int grid, long in, long out, int blocks, int block, double[] scales,
                                        double[] inverses, long[] pass);

    private static native void passGradient(long g, long out, int blocks, int block, double[] scales,
                                            double[] inverses, long[] pass);
}
