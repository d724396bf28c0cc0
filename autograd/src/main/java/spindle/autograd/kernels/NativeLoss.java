// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Cross-entropy in native code (loss.c) on float32 logits [n, c] of any size, bitwise equal to the Java twins in
 * {@link LossKernels}. The forward keeps each row's max and sum of exponentials instead of the [n, c]
 * probabilities: the backward recomputes them from the logits, which must then be unchanged.
 */
public final class NativeLoss {
    private NativeLoss() {}

    /** Per-row results of the forward: the loss (0 for ignored rows), the max logit and the sum of exp(x - max). */
    public record Rows(double[] loss, double[] max, double[] sum) {}

    /** True when the native kernels can take these logits: library on, dense float32. */
    public static boolean fits(INDArray logits) {
        return NativeKernels.enabled() && NativeKernels.denseFloats(logits) && logits.length() <= Integer.MAX_VALUE;
    }

    /** The forward over logits [n, c] (flat, c order) and targets t [n], each in [0, c) or equal to ignore. */
    public static Rows forward(INDArray logits, long[] t, long ignore, int c) {
        int n = t.length;
        check(logits, t, ignore, c);
        Rows rows = new Rows(new double[n], new double[n], new double[n]);
        forward(NativeKernels.address(logits), t, ignore, n, c, rows.loss(), rows.max(), rows.sum());
        return rows;
    }

    /**
     * dx (dense float32, logits' length) = (softmax - onehot(t)) · scale per row; the row's scale is rowScale[r], or
     * {@code scale} for every row when rowScale is null; ignored rows get 0.
     */
    public static void backward(INDArray logits, long[] t, long ignore, int c, Rows rows, double[] rowScale,
                                double scale, INDArray dx) {
        check(logits, t, ignore, c);
        if (!NativeKernels.denseFloats(dx) || dx.length() != logits.length() || rowScale != null && rowScale.length < t.length
            || rows.max().length < t.length || rows.sum().length < t.length) {
            throw new IllegalArgumentException("cross-entropy backward: dx must be dense float32 of the logits' length "
                + logits.length() + " and every row array hold " + t.length + " rows");
        }
        backward(NativeKernels.address(logits), t, ignore, rowScale, scale, t.length, c, rows.max(), rows.sum(),
            NativeKernels.address(dx));
    }

    private static void check(INDArray logits, long[] t, long ignore, int c) {
        if (c < 1 || logits.length() != (long) t.length * c) {
            throw new IllegalArgumentException("cross-entropy: logits of length " + logits.length() + " are not "
                + t.length + " targets times " + c + " classes");
        }
        for (int r = 0; r < t.length; r++) {
            if (t[r] != ignore && (t[r] < 0 || t[r] >= c)) {
                throw new IllegalArgumentException("cross-entropy: target " + t[r] + " at row " + r
                    + " is outside [0, " + c + ") and not the ignore index " + ignore);
            }
        }
    }

    private static native void forward(long x, long[] t, long ignore, int n, int c, double[] loss, double[] max,
                                       double[] sum);

    private static native void backward(long x, long[] t, long ignore, double[] rowScale, double scale, int n, int c,
                                        double[] max, double[] sum, long dx);
}
