// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * How a float32 array of rank >= 2 lies in memory as a batch of matrices, for {@link NativeGemm}: its trailing two
 * dims [rows, cols] are a row-major matrix with leading dimension {@code ld}, or the transpose of one
 * ({@code transposed}: a column-major matrix, e.g. a transposed view), and its leading dims fold into one batch dim
 * of {@code count} matrices {@code batchStride} elements apart.
 */
record GemmOperand(long address, long[] batch, long count, long batchStride, long rows, long cols, long ld,
                   boolean transposed) {

    /** x's layout, or null when it has none of these forms (then the caller takes another path). */
    static GemmOperand of(INDArray x) {
        int r = x.rank();
        if (r < 2 || !NativeKernels.stridedFloats(x)) {
            return null;
        }
        long rows = x.size(r - 2);
        long cols = x.size(r - 1);
        long rowStride = x.stride(r - 2);
        long colStride = x.stride(r - 1);
        long[] batch = Arrays.copyOf(x.shape(), r - 2);
        long batchStride = batchStride(x);
        if (batchStride < 0) {
            return null;
        }
        long count = Arrays.stream(batch).reduce(1, Math::multiplyExact);
        long address = NativeKernels.address(x);
        if (cols == 1 || colStride == 1) {
            return new GemmOperand(address, batch, count, batchStride, rows, cols, rows == 1 ? cols : rowStride, false);
        }
        if (rows == 1 || rowStride == 1) {
            return new GemmOperand(address, batch, count, batchStride, cols, rows, colStride, true);
        }
        return null;
    }

    /** The one stride that steps through x's leading dims in c order (0 when they hold one matrix), or -1. */
    private static long batchStride(INDArray x) {
        long stride = 0;
        long span = -1;   // elements one step of the next outer dim must cover, once an inner dim was seen
        for (int d = x.rank() - 3; d >= 0; d--) {
            if (x.size(d) == 1) {
                continue;
            }
            if (span < 0) {
                stride = x.stride(d);
            } else if (x.stride(d) != span) {
                return -1;
            }
            span = x.stride(d) * x.size(d);
        }
        return stride;
    }

    /** Rows of op(this): this matrix's rows, or its cols when the product transposes it. */
    long rowsOf(boolean op) {
        return op ? cols : rows;
    }

    /** Cols of op(this). */
    long colsOf(boolean op) {
        return op ? rows : cols;
    }

    /** True when this can be a product's output: row-major, no two elements in one place. */
    boolean writable() {
        return !transposed && (rows == 1 || ld >= cols) && (count == 1 || batchStride >= (rows - 1) * ld + cols);
    }
}
