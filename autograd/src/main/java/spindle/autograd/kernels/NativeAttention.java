// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Causal attention's masked softmax and dP-to-dS step in native code (attention.c) on float32 arrays of any size,
 * bitwise equal to the Java twins in {@link AttentionKernels}, which state the formulas.
 */
public final class NativeAttention {
    private NativeAttention() {}

    /** True when the native kernels can take these arrays: library on, every array dense float32. */
    public static boolean fits(INDArray... arrays) {
        if (!NativeKernels.enabled()) {
            return false;
        }
        for (INDArray a : arrays) {
            if (!NativeKernels.denseFloats(a) || a.rank() < 1 || a.size(a.rank() - 1) > Integer.MAX_VALUE) {
                return false;
            }
        }
        return true;
    }

    /** As {@link AttentionKernels#causalSoftmaxInPlace}, for scores {@link #fits} accepts. */
    public static void causalSoftmaxInPlace(INDArray s, long queries) {
        long keys = s.size(s.rank() - 1);
        if (queries < 1 || queries > keys) {
            throw new IllegalArgumentException("causal softmax: queries must be in [1, keys = " + keys + "] but is "
                + queries);
        }
        if (causalSoftmax(NativeKernels.address(s), s.length() / keys, (int) keys, (int) queries) != 0) {
            throw new OutOfMemoryError("causal softmax: no room for a scratch row of " + keys + " doubles");
        }
    }

    /** As {@link AttentionKernels#scoreGradInPlace}, for arrays {@link #fits} accepts. */
    public static void scoreGradInPlace(INDArray dp, INDArray p, INDArray dO, INDArray o) {
        long keys = dp.size(dp.rank() - 1);
        long rows = dp.length() / keys;
        long dv = dO.length() / rows;
        if (p.length() != dp.length() || dO.length() != rows * dv || o.length() != dO.length()
            || dv > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("attention score gradient: dP " + java.util.Arrays.toString(dp.shape())
                + " and P " + java.util.Arrays.toString(p.shape()) + " must have the same length, dO "
                + java.util.Arrays.toString(dO.shape()) + " and O " + java.util.Arrays.toString(o.shape())
                + " [rows of dP, dv] each");
        }
        scoreGrad(NativeKernels.address(dp), NativeKernels.address(p), NativeKernels.address(dO),
            NativeKernels.address(o), rows, (int) keys, (int) dv);
    }

    private static native int causalSoftmax(long s, long rows, int keys, int queries);

    private static native void scoreGrad(long dp, long p, long dO, long o, long rows, int keys, int dv);
}
