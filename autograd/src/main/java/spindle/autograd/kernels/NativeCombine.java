// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A MoE layer's weighted combination of its experts' output rows and its backward in native code (combine.c) for
 * float32 of any size, bitwise {@link CombineKernels}: the same float64 arithmetic in the same order.
 */
public final class NativeCombine {
    private NativeCombine() {}

    /** True when the native kernel can take rows [m, h] and weights [n, k]: library on, both dense float32. */
    public static boolean fits(INDArray rows, INDArray weights) {
        return NativeKernels.enabled() && rows.rank() == 2 && weights.rank() == 2 && NativeKernels.denseFloats(rows)
            && NativeKernels.denseFloats(weights);
    }

    /** y [n, h] (dense float32) = Σ_k w[n, k] rows[row[n k + k']]; row is a dense INT64 [n * k] of rows in range. */
    public static void forward(INDArray rows, INDArray row, INDArray w, INDArray y) {
        long n = w.size(0);
        long h = check(rows, row, w);
        require(y, n * h, "y");
        forward(NativeKernels.address(rows), NativeKernels.address(row), NativeKernels.address(w), n, (int) w.size(1), h,
            NativeKernels.address(y));
    }

    /** drows [m, h] and dw [n, k] (each dense float32, or null when not needed) from g [n, h] (dense float32). */
    public static void backward(INDArray rows, INDArray row, INDArray w, INDArray g, INDArray drows, INDArray dw) {
        long n = w.size(0);
        long h = check(rows, row, w);
        require(g, n * h, "g");
        if (drows != null) {
            require(drows, rows.length(), "drows");
        }
        if (dw != null) {
            require(dw, w.length(), "dw");
        }
        backward(NativeKernels.address(rows), rows.size(0), NativeKernels.address(row), NativeKernels.address(w),
            NativeKernels.address(g), n, (int) w.size(1), h, drows == null ? 0 : NativeKernels.address(drows),
            dw == null ? 0 : NativeKernels.address(dw));
    }

    /** Checks the arrays native code will read (every row index in range); returns h. */
    private static long check(INDArray rows, INDArray row, INDArray w) {
        if (!fits(rows, w) || row.dataType() != DataType.LONG || !NativeKernels.dense(row) || row.length() != w.length()) {
            throw new IllegalArgumentException("NativeCombine: rows " + Arrays.toString(rows.shape()) + " and weights "
                + Arrays.toString(w.shape()) + " must be dense float32 [m, h] and [n, k], row a dense INT64 of n * k = "
                + w.length() + " but has " + row.length());
        }
        long m = rows.size(0);
        for (long r : Dense.longs(row)) {
            if (r < 0 || r >= m) {
                throw new IllegalArgumentException("NativeCombine: a row index " + r + " lies outside [0, " + m + ")");
            }
        }
        return rows.size(1);
    }

    private static void require(INDArray a, long length, String name) {
        if (!NativeKernels.denseFloats(a) || a.length() != length) {
            throw new IllegalArgumentException("NativeCombine: " + name + " must be a dense float32 array of " + length
                + " values but is " + a.dataType() + " of " + a.length());
        }
    }

    private static native void forward(long rows, long row, long w, long n, int k, long h, long y);

    private static native void backward(long rows, long m, long row, long w, long g, long n, int k, long h, long drows,
                                        long dw);
}
