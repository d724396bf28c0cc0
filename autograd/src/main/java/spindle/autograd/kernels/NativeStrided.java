// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * window = part or window += part for float32 arrays of one shape with any non-negative strides, e.g. a narrowed or
 * permuted view and a gradient, in one native pass (strided.c); the sums are float32 additions, as ND4J's.
 */
public final class NativeStrided {
    private static final int MAX_RANK = 8;

    private NativeStrided() {}

    /** True when the native kernel can take these arrays: library on, float32, one shape, strides inside buffers. */
    public static boolean fits(INDArray window, INDArray part) {
        return NativeKernels.enabled() && Arrays.equals(window.shape(), part.shape()) && window.rank() >= 1
            && window.rank() <= MAX_RANK && inside(window) && inside(part);
    }

    /** window = part when {@code assign}, else window += part; for arrays {@link #fits} accepts. */
    public static void addInto(INDArray window, INDArray part, boolean assign) {
        addInto(start(window), start(part), window.shape(), window.stride(), part.stride(), assign);
    }

    /**
     * Every element of a lies inside its buffer, with non-negative strides. A view's buffer (ND4J 1.0.0-M2) carries
     * the view's offset and counts its length from there, while its address stays the allocation's start.
     */
    private static boolean inside(INDArray a) {
        if (a.dataType() != DataType.FLOAT || a.wasClosed() || a.isEmpty() || a.data() == null
            || a.offset() != a.data().offset()) {
            return false;
        }
        long reach = 0;
        for (int k = 0; k < a.rank(); k++) {
            if (a.stride(k) < 0) {
                return false;
            }
            reach += (a.size(k) - 1) * a.stride(k);
        }
        return a.offset() >= 0 && reach < a.data().length();
    }

    private static long start(INDArray a) {
        return a.data().address() + a.offset() * Float.BYTES;   // a buffer's address is its allocation's
    }

    private static native void addInto(long window, long part, long[] shape, long[] windowStrides, long[] partStrides,
                                       boolean assign);
}
