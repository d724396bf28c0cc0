// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;

/**
 * Scans of an index array (token ids, targets; other types are read as ND4J's getLong truncates them) read
 * straight from its buffer: an ND4J reduction would create
 * its result array, shape info and op context each time (about 10 us apiece), more than a loop over a batch's
 * ids costs.
 */
public final class IntegerElements {
    private IntegerElements() {}

    /** True when every element of {@code a} is in [lo, hi). */
    public static boolean allInRange(INDArray a, long lo, long hi) {
        INDArray dense = dense(a);
        DataBuffer data = dense.data();
        long offset = dense.offset();
        for (long i = 0, n = dense.length(); i < n; i++) {
            long v = data.getLong(offset + i);
            if (v < lo || v >= hi) {
                return false;
            }
        }
        return true;
    }

    /** How many elements of {@code a} differ from {@code value}. */
    public static long countNot(INDArray a, long value) {
        INDArray dense = dense(a);
        DataBuffer data = dense.data();
        long offset = dense.offset();
        long count = 0;
        for (long i = 0, n = dense.length(); i < n; i++) {
            if (data.getLong(offset + i) != value) {
                count++;
            }
        }
        return count;
    }

    /** {@code a} when its elements lie in row-major order at consecutive buffer positions, else a copy that does. */
    private static INDArray dense(INDArray a) {
        return a.ordering() == 'c' && Shape.hasDefaultStridesForShape(a) ? a : a.dup('c');
    }
}
