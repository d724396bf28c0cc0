// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import java.util.Arrays;

/** RMSNorm over the rows of x [rows, d]: the forward and the backward, each one pass over the rows. */
public final class NormKernels {
    private NormKernels() {}

    /** y = x r w with r = 1 / sqrt(mean(x², row) + eps) per row; fills y [rows, d] and r [rows]. */
    public static void rmsNormForward(double[] x, double[] w, double eps, int rows, int d, double[] y, double[] r) {
        for (int i = 0; i < rows; i++) {
            int o = i * d;
            double squares = 0;
            for (int j = 0; j < d; j++) {
                double v = x[o + j];
                squares += v * v;
            }
            double ri = 1 / Math.sqrt(squares / d + eps);
            r[i] = ri;
            for (int j = 0; j < d; j++) {
                y[o + j] = x[o + j] * ri * w[j];
            }
        }
    }

    /**
     * With x̂ = x r: dw = Σ_rows g x̂ and dx = r (g w - x̂ mean(g w x̂, row)); dx or dw may be null when not
     * needed. r is the forward's.
     */
    public static void rmsNormBackward(double[] x, double[] w, double[] r, double[] g, int rows, int d, double[] dx,
                                       double[] dw) {
        if (dw != null) {
            Arrays.fill(dw, 0, d, 0.0);
        }
        for (int i = 0; i < rows; i++) {
            int o = i * d;
            double ri = r[i];
            double m = 0;
            for (int j = 0; j < d; j++) {
                double gx = g[o + j] * x[o + j] * ri;   // g x̂
                m += gx * w[j];
                if (dw != null) {
                    dw[j] += gx;
                }
            }
            m /= d;
            if (dx != null) {
                for (int j = 0; j < d; j++) {
                    dx[o + j] = ri * (g[o + j] * w[j] - x[o + j] * ri * m);
                }
            }
        }
    }
}
