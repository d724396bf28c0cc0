// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

/**
 * Rotary position embedding over n blocks of [t, d] with per-channel tables cos and sin [t, d]. Channel j is
 * paired with k = j + d/2 (rotate half) or k = j + 1 for even j (interleaved); rotate maps (x_j, x_k) to
 * (-x_k, x_j).
 */
public final class RotaryKernels {
    private RotaryKernels() {}

    /** y = x cos + rotate(x) sin. */
    public static void forward(double[] x, double[] cos, double[] sin, int n, int t, int d, boolean half, double[] y) {
        int step = half ? 1 : 2;
        int partner = half ? d / 2 : 1;
        for (int b = 0; b < n; b++) {
            for (int i = 0; i < t; i++) {
                int o = (b * t + i) * d;
                int c = i * d;
                for (int p = 0; p < d / 2; p++) {
                    int j = p * step;
                    int k = j + partner;
                    double xj = x[o + j];
                    double xk = x[o + k];
                    y[o + j] = xj * cos[c + j] - xk * sin[c + j];
                    y[o + k] = xk * cos[c + k] + xj * sin[c + k];
                }
            }
        }
    }

    /** dx = g cos - rotate(g sin): rotate's transpose is -rotate. */
    public static void backward(double[] g, double[] cos, double[] sin, int n, int t, int d, boolean half,
                                double[] dx) {
        int step = half ? 1 : 2;
        int partner = half ? d / 2 : 1;
        for (int b = 0; b < n; b++) {
            for (int i = 0; i < t; i++) {
                int o = (b * t + i) * d;
                int c = i * d;
                for (int p = 0; p < d / 2; p++) {
                    int j = p * step;
                    int k = j + partner;
                    double gj = g[o + j];
                    double gk = g[o + k];
                    dx[o + j] = gj * cos[c + j] + gk * sin[c + k];
                    dx[o + k] = gk * cos[c + k] - gj * sin[c + j];
                }
            }
        }
    }
}
