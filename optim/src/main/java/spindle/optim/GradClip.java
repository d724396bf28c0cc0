// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.NativeOptim;

/** Gradient clipping applied between backward and the optimizer step. */
public final class GradClip {
    private GradClip() {}

    /**
     * Scales all gradients together so that their joint L2 norm is at most {@code maxNorm}, as
     * torch.nn.utils.clip_grad_norm_: total = sqrt(sum_i ||g_i||^2), and when c = maxNorm / (total + 1e-6)
     * is below 1 every gradient is multiplied by c. Returns the total before clipping (0 without gradients);
     * null gradients are skipped, and a NaN total leaves the gradients unchanged, so check the result.
     */
    public static double clipGlobalNorm(Iterable<Tensor> params, double maxNorm) {
        Check.positive(maxNorm, "GradClip.clipGlobalNorm", "maxNorm");
        double sumSquares = 0;
        for (Tensor p : params) {
            INDArray g = p.grad();
            if (g != null) {
                double n = NativeOptim.fits(g) ? Math.sqrt(NativeOptim.sumOfSquares(g))
                    : SmallArrays.fit(g) ? Math.sqrt(sumOfSquares(g)) : g.norm2Number().doubleValue();
                sumSquares += n * n;
            }
        }
        double total = Math.sqrt(sumSquares);
        double coef = maxNorm / (total + 1e-6);
        if (coef < 1) {
            for (Tensor p : params) {
                INDArray g = p.grad();
                if (g != null && NativeOptim.fits(g)) {
                    NativeOptim.scale(g, (float) coef);   // as muli rounds it for float32
                } else if (g != null && SmallArrays.fit(g)) {
                    scale(g, coef);
                } else if (g != null) {
                    g.muli(coef);
                }
            }
        }
        return total;
    }

    /**
     * The sum of g's squared elements by a Java loop (small arrays: an ND4J op costs more than the loop), in four
     * running sums (element i into sum i % 4) added as (s0 + s1) + (s2 + s3): the native loop's order, whose four
     * sums are the lanes of one vector register.
     */
    private static double sumOfSquares(INDArray g) {
        double[] x = SmallArrays.read(g, 0);
        double[] sums = new double[4];
        for (int i = 0, n = (int) g.length(); i < n; i++) {
            sums[i & 3] += x[i] * x[i];
        }
        return (sums[0] + sums[1]) + (sums[2] + sums[3]);
    }

    private static void scale(INDArray g, double coef) {
        double[] x = SmallArrays.read(g, 0);
        double c = g.dataType() == DataType.FLOAT ? (float) coef : coef;   // as muli rounds it for float32
        for (int i = 0, n = (int) g.length(); i < n; i++) {
            x[i] *= c;
        }
        SmallArrays.write(x, g);
    }
}
