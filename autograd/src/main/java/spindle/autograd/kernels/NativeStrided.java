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

    /** True when {@link #copyInto} can copy part into a window of out: library on, out dense float32, part strided. */
    public static boolean copyFits(INDArray out, INDArray part) {
        return NativeKernels.denseFloats(out) && readable(part);
    }

    /** True when the native kernel can read part: library on, float32 of rank 1 to 8 with strides inside its buffer. */
    public static boolean readable(INDArray part) {
        return NativeKernels.enabled() && part.rank() >= 1 && part.rank() <= MAX_RANK && NativeKernels.stridedFloats(part);
    }

    /** A dense float32 copy of part, for an array {@link #readable} accepts, without an ND4J op. */
    public static INDArray denseCopy(INDArray part) {
        INDArray out = org.nd4j.linalg.factory.Nd4j.createUninitialized(part.dataType(), part.shape());
        copyInto(out, 0, out.stride(), part);
        return out;
    }

    /** A fresh dense a + b (the same float32 additions as ND4J's), for arrays {@link #fits} accepts. */
    public static INDArray sum(INDArray a, INDArray b) {
        INDArray out = denseCopy(a);
        addInto(out, b, false);
        return out;
    }

    /**
     * Copies part into the window of out that starts {@code offset} elements into it and has part's shape and the
     * strides {@code windowStrides} (a concat's or a stack's slot), for arrays {@link #copyFits} accepts; without a
     * view of the window.
     */
    public static void copyInto(INDArray out, long offset, long[] windowStrides, INDArray part) {
        long[] shape = part.shape();
        long reach = offset;
        for (int k = 0; k < shape.length; k++) {
            reach += (shape[k] - 1) * windowStrides[k];
        }
        if (windowStrides.length != shape.length || offset < 0 || reach >= out.length()
            || Arrays.stream(windowStrides).anyMatch(st -> st < 0)) {
            throw new IllegalArgumentException("NativeStrided.copyInto: a window at " + offset + " with strides "
                + Arrays.toString(windowStrides) + " and shape " + Arrays.toString(shape) + " leaves out's "
                + out.length() + " elements");
        }
        addInto(NativeKernels.address(out) + offset * Float.BYTES, NativeKernels.address(part), shape, windowStrides,
            part.stride(), true);
    }

    /**
     * out = part broadcast to out's shape (part of out's rank, size 1 where out is larger): part's strides read as 0
     * along the stretched dims; for out dense float32 and part {@link #readable}.
     */
    public static void expandInto(INDArray out, INDArray part) {
        boolean ok = part.rank() == out.rank() && NativeKernels.denseFloats(out) && readable(part);
        long[] strides = part.stride().clone();
        for (int k = 0; ok && k < strides.length; k++) {
            ok = part.size(k) == out.size(k) || part.size(k) == 1;
            strides[k] = part.size(k) == 1 ? 0 : strides[k];
        }
        if (!ok) {
            throw new IllegalArgumentException("NativeStrided.expandInto: part " + Arrays.toString(part.shape())
                + " does not broadcast to a dense float32 out " + Arrays.toString(out.shape()));
        }
        addInto(NativeKernels.address(out), NativeKernels.address(part), out.shape(), out.stride(), strides, true);
    }

    /**
     * out += g summed over the dims where out has size 1 and g does not (a broadcast input's gradient): each of out's
     * elements gets its g elements added in row-major order, one float32 addition at a time; out dense float32 of
     * g's rank, g {@link #readable}.
     */
    public static void sumInto(INDArray out, INDArray g) {
        boolean ok = g.rank() == out.rank() && NativeKernels.denseFloats(out) && readable(g);
        long[] strides = out.stride().clone();
        for (int k = 0; ok && k < strides.length; k++) {
            ok = out.size(k) == g.size(k) || out.size(k) == 1;
            strides[k] = out.size(k) == 1 ? 0 : strides[k];
        }
        if (!ok) {
            throw new IllegalArgumentException("NativeStrided.sumInto: g " + Arrays.toString(g.shape())
                + " does not reduce to a dense float32 out " + Arrays.toString(out.shape()));
        }
        addInto(NativeKernels.address(out), NativeKernels.address(g), g.shape(), strides, g.stride(), false);
    }

    private static native void addInto(long window, long part, long[] shape, long[] windowStrides, long[] partStrides,
                                       boolean assign);
}
