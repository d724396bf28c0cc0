// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Rotary position embedding over float32 x [..., t, d] in native code (rope.c), for arrays of any size: the same
 * float64 arithmetic in the same order as {@link RotaryKernels}, so the results are bitwise the Java kernels'. x
 * may be dense or, up to rank 4, a view with non-negative strides inside its buffer: the transpose of a
 * projection's [B, T, H, D] output to [B, H, T, D], or a slice of its channels at an offset (MLA's q_pe and k_pe).
 * The tables cos and sin [t, d] are dense.
 */
public final class NativeRotary {
    private NativeRotary() {}

    /** True when the native kernel can take x and the tables: library on, float32, x {@link #readable}, tables dense. */
    public static boolean fits(INDArray x, INDArray cos, INDArray sin) {
        return NativeKernels.enabled() && readable(x) && NativeKernels.denseFloats(cos) && NativeKernels.denseFloats(sin);
    }

    /** True when a is float32 and dense, or of rank 2 to 4 with non-negative strides inside its buffer. */
    public static boolean readable(INDArray a) {
        if (NativeKernels.denseFloats(a)) {
            return true;
        }
        return a.rank() >= 2 && a.rank() <= 4 && NativeKernels.stridedFloats(a);
    }

    /**
     * out = x cos + rotate(x) sin, or for the backward out = x cos - rotate(x sin), where x is the output's gradient;
     * channel j pairs with j + d/2 ({@code half}) or j + 1 for even j. in and out {@link #readable}, of one shape,
     * in different buffers.
     */
    public static void apply(INDArray in, INDArray cos, INDArray sin, boolean half, boolean backward, INDArray out) {
        long[] shape = in.shape();
        if (!Arrays.equals(shape, out.shape()) || shape.length < 2 || shape[shape.length - 1] % 2 != 0) {
            throw new IllegalArgumentException("NativeRotary: in has shape " + Arrays.toString(shape) + " and out "
                + Arrays.toString(out.shape()) + "; they must be one shape [..., t, d] with d even");
        }
        long t = shape[shape.length - 2];
        long d = shape[shape.length - 1];
        for (INDArray a : new INDArray[] {in, out}) {
            if (!readable(a)) {
                throw new IllegalArgumentException("NativeRotary: an array of shape " + Arrays.toString(a.shape())
                    + " and strides " + Arrays.toString(a.stride()) + " is not float32 laid out inside its buffer");
            }
        }
        if (in.data().address() == out.data().address()) {
            throw new IllegalArgumentException("NativeRotary: in and out share a buffer; out must be an array of its own");
        }
        for (INDArray table : new INDArray[] {cos, sin}) {
            if (!NativeKernels.denseFloats(table) || !Arrays.equals(table.shape(), new long[] {t, d})) {
                throw new IllegalArgumentException("NativeRotary: a table has shape " + Arrays.toString(table.shape())
                    + " (" + table.dataType() + "); it must be dense float32 [" + t + ", " + d + "]");
            }
        }
        boolean flat = NativeKernels.dense(in) && NativeKernels.dense(out);
        apply(NativeKernels.address(in), sizes(shape, flat), strides(in, flat), NativeKernels.address(out),
            strides(out, flat), NativeKernels.address(cos), NativeKernels.address(sin), half, backward);
    }

    /** The shape as [n0, n1, t, d]: when flat the leading dims become n1, else (rank <= 4) they are padded with ones. */
    private static long[] sizes(long[] shape, boolean flat) {
        int r = shape.length;
        long t = shape[r - 2];
        long d = shape[r - 1];
        if (flat) {
            return new long[] {1, Arrays.stream(shape).reduce(1, (p, q) -> p * q) / (t * d), t, d};
        }
        long[] out = {1, 1, 1, 1};
        System.arraycopy(shape, 0, out, 4 - r, r);
        return out;
    }

    /** a's strides for {@link #sizes}: c order's when flat (a is dense), else a's own, padded. */
    private static long[] strides(INDArray a, boolean flat) {
        int r = a.rank();
        if (flat) {
            long d = a.size(r - 1);
            return new long[] {0, a.size(r - 2) * d, d, 1};
        }
        long[] out = {0, 0, 0, 0};
        System.arraycopy(a.stride(), 0, out, 4 - r, r);
        return out;
    }

    private static native void apply(long in, long[] sizes, long[] inStrides, long out, long[] outStrides, long cos,
                                     long sin, boolean half, boolean backward);
}
