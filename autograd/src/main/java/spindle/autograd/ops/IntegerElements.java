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
        for (long i = 0, n = dense.length(); i < n; i++) {
            long v = data.getLong(i);
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
        long count = 0;
        for (long i = 0, n = dense.length(); i < n; i++) {
            if (data.getLong(i) != value) {
                count++;
            }
        }
        return count;
    }

    /**
     * {@code a} when its elements lie in row-major order from the start of its own buffer, else a copy that does. A
     * view at an offset is copied rather than indexed: in ND4J M2 its buffer already starts at the view, so reading
     * offset + i double-counts the offset, and a copy does not depend on how a view's buffer is laid out.
     */
    private static INDArray dense(INDArray a) {
        return a.offset() == 0 && a.ordering() == 'c' && Shape.hasDefaultStridesForShape(a) ? a : a.dup('c');
    }
}
