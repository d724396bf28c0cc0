// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * target[index[k]] += rows[k] along dim 0 in native code (scatter.c): a row gather's backward (embedding,
 * index_select) in one pass, adding in index order.
 */
public final class NativeScatter {
    private NativeScatter() {}

    /**
     * True when the native kernel can take these arrays: library on, target [N, ...] and rows [K, ...] dense float32
     * with rows of one width, index a dense 1-D INT64 or INT32 array of K entries.
     */
    public static boolean fits(INDArray target, INDArray index, INDArray rows) {
        DataType it = index.dataType();
        return NativeKernels.enabled() && NativeKernels.denseFloats(target) && NativeKernels.denseFloats(rows)
            && (it == DataType.LONG || it == DataType.INT) && NativeKernels.dense(index) && index.rank() == 1
            && target.rank() >= 1 && rows.rank() == target.rank() && rows.size(0) == index.length()
            && target.length() / target.size(0) == rows.length() / rows.size(0);
    }

    /** Adds each row k of rows to row index[k] of target, for arrays {@link #fits} accepts. */
    public static void addRows(INDArray target, INDArray index, INDArray rows) {
        long count = index.length();
        long width = rows.length() / count;
        long bad = addRows(NativeKernels.address(target), target.size(0), NativeKernels.address(index),
            index.dataType() == DataType.LONG, NativeKernels.address(rows), count, width);
        if (bad >= 0) {
            throw new IllegalArgumentException("scatter rows: index[" + bad + "] lies outside [0, " + target.size(0)
                + ") of the target's " + target.size(0) + " rows");
        }
    }

    private static native long addRows(long target, long targetRows, long index, boolean indexIsLong, long rows,
                                       long count, long width);
}
