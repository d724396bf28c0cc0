// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Reshape of an array that fills its whole buffer in row-major order: a new array on the same DataBuffer. ND4J's
 * reshape makes a view, which wraps the buffer in a second DataBuffer (each registered for cleanup, about 10 us of
 * CPU apiece); this shares the one DataBuffer and creates only the shape descriptor.
 */
final class WholeBufferReshape {
    private WholeBufferReshape() {}

    /** {@code a} with shape {@code to} (same element count), sharing a's buffer; {@link StridedCopy#reshape} for others. */
    static INDArray reshape(INDArray a, long[] to) {
        if (!fillsBuffer(a) || to.length == 0 || a.length() == 0) {
            return StridedCopy.reshape(a, to);
        }
        return Nd4j.create(a.data(), to, Nd4j.getStrides(to, 'c'), 0, 'c');
    }

    private static boolean fillsBuffer(INDArray a) {
        return !a.isView() && a.rank() > 0 && a.offset() == 0 && a.ordering() == 'c'
            && a.data().originalDataBuffer() == null && a.length() == a.data().length()
            && Shape.hasDefaultStridesForShape(a);
    }
}
