// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.kernels.Dense;
import spindle.autograd.kernels.KernelMath;

/**
 * Softmax over the last dim and its backward as Java kernels, for arrays {@link spindle.autograd.kernels.SmallKernels}
 * takes (a router's [tokens, experts] scores): one pass each instead of ND4J's two ops forward and four backward.
 * Computed in float64 and rounded once, so float32 results may differ from ND4J's float32 arithmetic in the last bit.
 */
final class RowSoftmax {
    private RowSoftmax() {}

    /** y = exp(x - max) / sum(exp(x - max)) per row of the last dim, in a fresh c-order array. */
    static INDArray forward(INDArray x) {
        int n = (int) x.length();
        int width = (int) x.size(x.rank() - 1);
        double[] v = Dense.read(x, 0);
        double[] y = Dense.scratch(1, n);
        for (int r = 0; r + width <= n && width > 0; r += width) {
            double max = Double.NEGATIVE_INFINITY;
            for (int i = r; i < r + width; i++) {
                max = Math.max(max, v[i]);
            }
            double sum = 0;
            for (int i = r; i < r + width; i++) {
                y[i] = KernelMath.exp(v[i] - max);
                sum += y[i];
            }
            for (int i = r; i < r + width; i++) {
                y[i] /= sum;
            }
        }
        return Dense.array(y, x.dataType(), x.shape());
    }

    /** dx = y * (g - sum(g * y)) per row, in a fresh c-order array. */
    static INDArray backward(INDArray g, INDArray y) {
        int n = (int) y.length();
        int width = (int) y.size(y.rank() - 1);
        double[] gv = Dense.read(g, 0);
        double[] yv = Dense.read(y, 1);
        double[] dx = Dense.scratch(2, n);
        for (int r = 0; r + width <= n && width > 0; r += width) {
            double dot = 0;
            for (int i = r; i < r + width; i++) {
                dot += gv[i] * yv[i];
            }
            for (int i = r; i < r + width; i++) {
                dx[i] = yv[i] * (gv[i] - dot);
            }
        }
        return Dense.array(dx, y.dataType(), y.shape());
    }
}
