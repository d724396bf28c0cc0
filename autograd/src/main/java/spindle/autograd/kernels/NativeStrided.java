// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import java.util.Arrays;
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
            && window.rank() <= MAX_RANK && NativeKernels.stridedFloats(window) && NativeKernels.stridedFloats(part);
    }

    /** window = part when {@code assign}, else window += part; for arrays {@link #fits} accepts. */
    public static void addInto(INDArray window, INDArray part, boolean assign) {
        addInto(NativeKernels.address(window), NativeKernels.address(part), window.shape(), window.stride(), part.stride(),
            assign);
    }

    private static native void addInto(long window, long part, long[] shape, long[] windowStrides, long[] partStrides,
                                       boolean assign);
}
