// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

/**
 * A MoE router's top-k selection and routing weights over scores [n, e], in float64, rounded by the caller once
 * (the twin of routing.c). Selection: k rounds of "the first largest key not chosen yet", so ties go to the lower
 * index; the key is score + bias rounded to the scores' dtype, -inf raised to its lowest finite value. Weights: the
 * chosen scores, divided by their sum in choice order when normalize, times scale when it is not 1.
 */
public final class RoutingKernels {
    private RoutingKernels() {}

    /** indices [n * k] and weights [n * k] of scores [n * e] (bias [e] or null); f32 rounds the keys to float. */
    public static void forward(double[] scores, double[] bias, int n, int e, int k, boolean f32, boolean normalize,
                               double scale, long[] indices, double[] weights) {
        double lowest = f32 ? -Float.MAX_VALUE : -Double.MAX_VALUE;
        double[] w = new double[k];
        boolean[] chosen = new boolean[e];
        for (int row = 0; row < n; row++) {
            int o = row * e;
            java.util.Arrays.fill(chosen, false);
            double sum = 0;
            for (int j = 0; j < k; j++) {
                int best = -1;
                double bestKey = 0;
                for (int i = 0; i < e; i++) {
                    if (chosen[i]) {
                        continue;
                    }
                    double key = bias == null ? scores[o + i] : f32 ? (float) (scores[o + i] + bias[i])
                        : scores[o + i] + bias[i];
                    key = key < lowest ? lowest : key;
                    if (best < 0 || key > bestKey) {
                        best = i;
                        bestKey = key;
                    }
                }
                chosen[best] = true;
                indices[row * k + j] = best;
                w[j] = scores[o + best];
                sum += w[j];
            }
            for (int j = 0; j < k; j++) {
                double v = normalize ? w[j] / sum : w[j];
                weights[row * k + j] = scale != 1 ? v * scale : v;
            }
        }
    }

    /**
     * d scores [n * e] from d weights g [n * k]: zero outside the chosen experts; at a chosen one
     * scale (g_i - Σ_j g_j s_j / S) / S with S = Σ_j s_j when normalize, else g_i scale.
     */
    public static void backward(double[] scores, long[] indices, double[] g, int n, int e, int k, boolean normalize,
                                double scale, double[] ds) {
        java.util.Arrays.fill(ds, 0, n * e, 0.0);
        for (int row = 0; row < n; row++) {
            int o = row * e;
            double sum = 0;
            double dot = 0;
            for (int j = 0; j < k; j++) {
                double s = scores[o + (int) indices[row * k + j]];
                sum += s;
                dot += g[row * k + j] * s;
            }
            for (int j = 0; j < k; j++) {
                double gj = g[row * k + j];
                double v = normalize ? (gj - dot / sum) / sum : gj;
                ds[o + (int) indices[row * k + j]] = v * scale;
            }
        }
    }
}
