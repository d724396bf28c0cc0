// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

/**
 * SwiGLU's gate, silu(gate) * up, elementwise over n values. The forward keeps the sigmoid for the backward:
 * exp is the costliest step here. Float64 values are computed in float64 with {@link KernelMath#exp}, float32 ones
 * in float32 with {@link FloatMath#exp} (the native twin, NativeGating, computes the same, so gives the same bits);
 * not Math.exp, whose last bit differs from C's.
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

    /** {@link #swigluForward} on float32 values (held exactly in doubles), in float32 arithmetic as swiglu.c. */
    public static void swigluForwardFloat32(double[] gate, double[] up, int n, double[] y, double[] s) {
        for (int i = 0; i < n; i++) {
            float a = (float) gate[i];
            float si = 1.0f / (1.0f + FloatMath.exp(-a));
            s[i] = si;
            y[i] = a * si * (float) up[i];
        }
    }

    /** {@link #swigluBackward} on float32 values (held exactly in doubles), in float32 arithmetic as swiglu.c. */
    public static void swigluBackwardFloat32(double[] gate, double[] up, double[] sigmoid, double[] g, int n,
                                             double[] dgate, double[] dup) {
        for (int i = 0; i < n; i++) {
            float a = (float) gate[i];
            float s = (float) sigmoid[i];
            float gi = (float) g[i];
            if (dup != null) {
                dup[i] = gi * a * s;
            }
            if (dgate != null) {
                dgate[i] = gi * (float) up[i] * s * (1.0f + a * (1.0f - s));
            }
        }
    }
}
