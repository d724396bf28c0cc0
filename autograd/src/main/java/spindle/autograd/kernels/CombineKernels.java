// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

/**
 * A MoE layer's weighted combination of expert output rows (the twin of combine.c): y[n] = Σ_k w[n, k]
 * rows[row[n K + k]] in float64 in k order; backward adds w[n, k] g[n] into the rows' gradient in slot order (each
 * sum rounded to float32 when f32) and gives dw[n, k] = rows[row[n K + k]] · g[n] in channel order.
 */
public final class CombineKernels {
    private CombineKernels() {}

    /** y [n * h] from rows [m * h], row [n * k] and w [n * k]. */
    public static void forward(double[] rows, long[] row, double[] w, int n, int k, int h, double[] y) {
        for (int t = 0; t < n; t++) {
            for (int j = 0; j < h; j++) {
                double acc = 0;
                for (int s = 0; s < k; s++) {
                    acc += w[t * k + s] * rows[(int) row[t * k + s] * h + j];
                }
                y[t * h + j] = acc;
            }
        }
    }

    /** drows [m * h] (null: not needed; zeroed here) and dw [n * k] (null: not needed) from g [n * h]. */
    public static void backward(double[] rows, int m, long[] row, double[] w, double[] g, int n, int k, int h,
                                boolean f32, double[] drows, double[] dw) {
        if (drows != null) {
            java.util.Arrays.fill(drows, 0, m * h, 0.0);
        }
        for (int t = 0; t < n; t++) {
            for (int s = 0; s < k; s++) {
                int p = t * k + s;
                int r = (int) row[p] * h;
                if (drows != null) {
                    for (int j = 0; j < h; j++) {
                        double sum = drows[r + j] + w[p] * g[t * h + j];
                        drows[r + j] = f32 ? (float) sum : sum;
                    }
                }
                if (dw != null) {
                    double dot = 0;
                    for (int j = 0; j < h; j++) {
                        dot += rows[r + j] * g[t * h + j];
                    }
                    dw[p] = dot;
                }
            }
        }
    }
}
