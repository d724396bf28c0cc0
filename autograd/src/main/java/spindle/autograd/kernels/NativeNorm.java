// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * RMSNorm over the rows of float32 x [rows, d] in native code (norm.c), for arrays of any size: the same float64
 * arithmetic in the same order as {@link NormKernels}, so the results are bitwise the Java kernels'. The per-row
 * r = 1 / sqrt(mean(x²) + eps) is kept in a float64 array for the backward.
 */
public final class NativeNorm {
    /** What the backward does with the input gradient's array. */
    public enum Dx {
        /** Not computed. */
        NONE,
        /** Written over the array's values. */
        STORE,
        /** Added to the array's values (a residual stream's gradient so far), in float64, rounded once. */
        ADD
    }

    private NativeNorm() {}

    /** True when the native kernel can take these arrays: library on, all float32 and dense. */
    public static boolean fits(INDArray... arrays) {
        if (!NativeKernels.enabled()) {
            return false;
        }
        for (INDArray a : arrays) {
            if (!NativeKernels.denseFloats(a)) {
                return false;
            }
        }
        return true;
    }

    /** y = x r w per row, with r [rows] (float64) filled for the backward; x and y [rows * d], w [d]. */
    public static void forward(INDArray x, INDArray w, double eps, long d, INDArray y, INDArray r) {
        long rows = rows(x, w, d, r);
        require(y, rows * d, "y");
        forward(NativeKernels.address(x), NativeKernels.address(w), eps, rows, d, NativeKernels.address(y),
            NativeKernels.address(r));
    }

    /**
     * dw = Σ_rows g x̂ into dw [d] (null: not needed) and dx = r (g w - x̂ mean(g w x̂, row)) into dx as {@code mode}
     * says (null with {@link Dx#NONE}); r is the forward's.
     */
    public static void backward(INDArray x, INDArray w, INDArray r, INDArray g, long d, INDArray dx, Dx mode,
                                INDArray dw) {
        long rows = rows(x, w, d, r);
        require(g, rows * d, "g");
        if (mode != Dx.NONE) {
            require(dx, rows * d, "dx");
        }
        if (dw != null) {
            require(dw, d, "dw");
        }
        int status = backward(NativeKernels.address(x), NativeKernels.address(w), NativeKernels.address(r),
            NativeKernels.address(g), rows, d, mode == Dx.NONE ? 0 : NativeKernels.address(dx), mode.ordinal(),
            dw == null ? 0 : NativeKernels.address(dw));
        if (status != 0) {
            throw new OutOfMemoryError("NativeNorm.backward: no memory for the float64 sums of dw [" + d + "]");
        }
    }

    private static long rows(INDArray x, INDArray w, long d, INDArray r) {
        require(w, d, "w");
        if (d < 1 || x.length() % d != 0) {
            throw new IllegalArgumentException("NativeNorm: x has " + x.length() + " values, not rows of d = " + d);
        }
        long rows = x.length() / d;
        require(x, rows * d, "x");
        if (r.dataType() != DataType.DOUBLE || !NativeKernels.dense(r) || r.length() != rows) {
            throw new IllegalArgumentException("NativeNorm: r must be a dense float64 array of " + rows + " values but is "
                + r.dataType() + " of " + r.length());
        }
        return rows;
    }

    private static void require(INDArray a, long length, String name) {
        if (a == null || !NativeKernels.denseFloats(a) || a.length() != length) {
            throw new IllegalArgumentException("NativeNorm: " + name + " must be a dense float32 array of " + length
                + " values but is " + (a == null ? "null" : a.dataType() + " of " + a.length()));
        }
    }

    private static native void forward(long x, long w, double eps, long rows, long d, long y, long r);

    private static native int backward(long x, long w, long r, long g, long rows, long d, long dx, int mode, long dw);
}
