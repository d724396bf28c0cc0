// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

/**
 * Cross-entropy over the rows of logits [n, c] with class targets t [n]; rows whose target is the ignore index
 * add no loss and get no gradient.
 */
public final class LossKernels {
    private LossKernels() {}

    /**
     * probs[r] = softmax(x[r]) (the row max subtracted first) and loss[r] = log Σ exp(x[r]) - x[r, t[r]], 0 for
     * ignored rows. A NaN logit makes its row's probabilities and loss NaN. The backward reads probs: exp is the
     * costliest step here, so it runs once per logit.
     */
    public static void crossEntropyForward(double[] x, long[] t, long ignore, int n, int c, double[] probs,
                                           double[] loss) {
        for (int r = 0; r < n; r++) {
            int o = r * c;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < c; j++) {
                max = Math.max(max, x[o + j]);
            }
            double sum = 0;
            for (int j = 0; j < c; j++) {
                double e = KernelMath.exp(x[o + j] - max);   // as loss.c's
                probs[o + j] = e;
                sum += e;
            }
            for (int j = 0; j < c; j++) {
                probs[o + j] /= sum;
            }
            loss[r] = t[r] == ignore ? 0 : max + KernelMath.log(sum) - x[o + (int) t[r]];
        }
    }

    /**
     * dx = (probs - onehot(t)) · scale per row; the row's scale is rowScale[r], or {@code scale} for every row when
     * rowScale is null. Ignored rows get 0.
     */
    public static void crossEntropyBackward(double[] probs, long[] t, long ignore, double[] rowScale, double scale,
                                            int n, int c, double[] dx) {
        for (int r = 0; r < n; r++) {
            int o = r * c;
            if (t[r] == ignore) {
                java.util.Arrays.fill(dx, o, o + c, 0.0);
                continue;
            }
            double s = rowScale == null ? scale : rowScale[r];
            for (int j = 0; j < c; j++) {
                dx[o + j] = probs[o + j] * s;
            }
            dx[o + (int) t[r]] -= s;
        }
    }
}
