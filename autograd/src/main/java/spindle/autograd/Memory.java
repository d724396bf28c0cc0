// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Deterministic release of off-heap arrays: ND4J otherwise frees them only when the GC runs. */
public final class Memory {
    private Memory() {}

    /**
     * Frees the buffer behind {@code a} now. A view (ND4J's reshape and permute return views) frees the
     * whole buffer it looks into, so call this only on arrays whose buffer nobody else reads; null is ignored.
     */
    public static void release(INDArray a) {
        if (a == null || a.wasClosed()) {
            return;
        }
        if (a.closeable()) {
            a.close();
            return;
        }
        DataBuffer d = a.data();
        if (d != null && d.originalDataBuffer() == null && !d.wasClosed() && d.closeable()) {
            d.close();
        }
    }

    /** True when both arrays are backed by the same buffer (one is a view of the other, or both are). */
    public static boolean sharesBuffer(INDArray a, INDArray b) {
        return a != null && b != null && (a == b || a.data() == b.data()
            || a.data().originalDataBuffer() == b.data() || b.data().originalDataBuffer() == a.data()
            || (a.data().originalDataBuffer() != null && a.data().originalDataBuffer() == b.data().originalDataBuffer()));
    }
}
