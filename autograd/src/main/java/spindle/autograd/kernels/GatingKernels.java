// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

/**
 * SwiGLU's gate, silu(gate) * up, elementwise over n values. The forward keeps the sigmoid for the backward:
 * exp is the costliest step here. It is {@link KernelMath#exp}, not Math.exp, so that the native twin
 * (NativeGating), which computes the same exp, gives the same bits.
 */
public final class GatingKernels {
    private GatingKernels() {}

    /** y = gate s up with s = sigmoid(gate), which is written to {@code s}. */
    public static void swigluForward(double[] gate, double[] up, int n, double[] y, double[] s) {
        for (int i = 0; i < n; i++) {
            double a = gate[i];
            s[i] = 1 / (1 + KernelMath.exp(-a));
            y[i] = a * s[i] * up[i];
        }
    }

    /** With s the forward's sigmoid: dup = g gate s and dgate = g up s (1 + gate (1 - s)); either may be null when not needed. */
    public static void swigluBackward(double[] gate, double[] up, double[] sigmoid, double[] g, int n, double[] dgate,
                                      double[] dup) {
        for (int i = 0; i < n; i++) {
            double a = gate[i];
            double s = sigmoid[i];
            if (dup != null) {
                dup[i] = g[i] * a * s;
            }
            if (dgate != null) {
                dgate[i] = g[i] * up[i] * s * (1 + a * (1 - s));
            }
        }
    }
}
