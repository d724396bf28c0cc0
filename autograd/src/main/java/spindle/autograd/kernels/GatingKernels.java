// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

/** SwiGLU's gate, silu(gate) * up, elementwise over n values; the sigmoid is recomputed in the backward. */
public final class GatingKernels {
    private GatingKernels() {}

    /** y = gate s up with s = sigmoid(gate). */
    public static void swigluForward(double[] gate, double[] up, int n, double[] y) {
        for (int i = 0; i < n; i++) {
            double a = gate[i];
            y[i] = a / (1 + Math.exp(-a)) * up[i];
        }
    }

    /** dup = g gate s and dgate = g up s (1 + gate (1 - s)); either may be null when not needed. */
    public static void swigluBackward(double[] gate, double[] up, double[] g, int n, double[] dgate, double[] dup) {
        for (int i = 0; i < n; i++) {
            double a = gate[i];
            double s = 1 / (1 + Math.exp(-a));
            if (dup != null) {
                dup[i] = g[i] * a * s;
            }
            if (dgate != null) {
                dgate[i] = g[i] * up[i] * s * (1 + a * (1 - s));
            }
        }
    }
}
