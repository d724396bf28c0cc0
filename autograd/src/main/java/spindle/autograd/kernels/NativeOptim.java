// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Float32 optimizer updates in native code (optim.c): PyTorch's Adam/AdamW (amsgrad too) and SGD rules over a
 * parameter of any size in one pass over its value, gradient and state, and the gradient clip's sum of squares and
 * scaling. spindle.optim states the rules and keeps the Java loops these equal bit for bit; the scalars are passed
 * already rounded to float32, as those loops round them.
 */
public final class NativeOptim {
    private NativeOptim() {}

    /**
     * True when the native kernels can take these arrays (nulls ignored): library on, each dense float32, all of one
     * length, no two sharing memory (the loops read and write them as separate arrays).
     */
    public static boolean fits(INDArray... arrays) {
        if (!NativeKernels.enabled()) {
            return false;
        }
        long length = -1;
        for (int i = 0; i < arrays.length; i++) {
            INDArray a = arrays[i];
            if (a == null) {
                continue;
            }
            if (!NativeKernels.denseFloats(a) || (length >= 0 && a.length() != length)) {
                return false;
            }
            length = a.length();
            for (int j = 0; j < i; j++) {
                if (arrays[j] != null && overlap(a, arrays[j])) {
                    return false;
                }
            }
        }
        return length >= 0;
    }

    private static boolean overlap(INDArray a, INDArray b) {
        long a0 = NativeKernels.address(a);
        long b0 = NativeKernels.address(b);
        return a0 < b0 + 4 * b.length() && b0 < a0 + 4 * a.length();
    }

    /**
     * One Adam step over w with gradient g, moments m and v and, with amsgrad, their running maximum vmax (else
     * null), for arrays {@link #fits} accepts: keep multiplies w first (AdamW's 1 - lr * wd), l2 * w is added to g
     * (Adam's weight decay), m moves toward g by {@code toward} (torch's lerp_, with rest = 1 - toward), v becomes
     * v * b2 + sqWeight * g * g, and w += minusStep * m / (sqrt(v) / bc2Sqrt + eps).
     */
    public static void adam(INDArray w, INDArray g, INDArray m, INDArray v, INDArray vmax, float keep, float l2,
                            float b2, float toward, float rest, float sqWeight, float eps, float minusStep,
                            float bc2Sqrt) {
        require(w, g, m, v, vmax);
        adam(NativeKernels.address(w), NativeKernels.address(g), NativeKernels.address(m), NativeKernels.address(v),
            vmax == null ? 0 : NativeKernels.address(vmax), w.length(), keep, l2, b2, toward, rest, sqWeight, eps,
            minusStep, bc2Sqrt);
    }

    /**
     * One SGD step over w with gradient g, for arrays {@link #fits} accepts: d = g + wd * w; with a momentum buffer
     * (else null) buf = d on its first step, else buf * mu + damp * d, and d = d + mu * buf (nesterov) or buf;
     * then w += minusLr * d.
     */
    public static void sgd(INDArray w, INDArray g, INDArray buf, float wd, float mu, float damp, boolean first,
                           boolean nesterov, float minusLr) {
        require(w, g, buf);
        sgd(NativeKernels.address(w), NativeKernels.address(g), buf == null ? 0 : NativeKernels.address(buf),
            w.length(), wd, mu, damp, first, nesterov, minusLr);
    }

    /**
     * The sum of x's squares in double, each square exact, element i added to running sum i % 4, the four
     * summed as (s0 + s1) + (s2 + s3).
     */
    public static double sumOfSquares(INDArray x) {
        require(x);
        return sumOfSquares(NativeKernels.address(x), x.length());
    }

    /** x *= c in float32. */
    public static void scale(INDArray x, float c) {
        require(x);
        scale(NativeKernels.address(x), x.length(), c);
    }

    private static void require(INDArray... arrays) {
        if (!fits(arrays)) {
            throw new IllegalArgumentException("NativeOptim: the arrays must be dense float32 of one length, not"
                + " overlapping, and the library on; check fits first");
        }
    }

    private static native void adam(long w, long g, long m, long v, long vmax, long n, float keep, float l2, float b2,
                                    float toward, float rest, float sqWeight, float eps, float minusStep,
                                    float bc2Sqrt);

    private static native void sgd(long w, long g, long buf, long n, float wd, float mu, float damp, boolean first,
                                   boolean nesterov, float minusLr);

    private static native double sumOfSquares(long x, long n);

    private static native void scale(long x, long n, float c);
}
