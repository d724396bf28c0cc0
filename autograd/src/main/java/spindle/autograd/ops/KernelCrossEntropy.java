// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.Dense;
import spindle.autograd.kernels.LossKernels;
import spindle.autograd.kernels.NativeLoss;
import spindle.autograd.ops.Losses.Reduction;

/**
 * Cross-entropy through its kernels, for {@link Losses#crossEntropy}: the native ones on float32 logits of any size,
 * else the Java ones (small float32 or float64 logits). Both give the same per-row losses, reduced here alike.
 */
final class KernelCrossEntropy {
    private KernelCrossEntropy() {}

    /** True when the logits take one of these kernels. */
    static boolean fits(INDArray logits) {
        return NativeLoss.fits(logits) || spindle.autograd.kernels.SmallKernels.fit(logits);
    }

    /** The loss of logits [..., c] against targets t (shape ts), {@code count} of them not ignored. */
    static Tensor apply(Tensor logits, long[] ts, long[] t, long ignoreIndex, Reduction reduction, int count) {
        return NativeLoss.fits(logits.value()) ? nativeLoss(logits, ts, t, ignoreIndex, reduction, count)
            : javaLoss(logits, ts, t, ignoreIndex, reduction, count);
    }

    /** The native kernels; the backward recomputes the probabilities from the logits and each row's max and sum. */
    private static Tensor nativeLoss(Tensor logits, long[] ts, long[] t, long ignoreIndex, Reduction reduction,
                                     int count) {
        int c = (int) (logits.value().length() / t.length);
        INDArray x = logits.value();
        NativeLoss.Rows rows = NativeLoss.forward(x, t, ignoreIndex, c);
        return Tape.record("cross_entropy", reduce(rows.loss(), logits.dtype(), ts, reduction, count), g -> {
            double[] rowScale = reduction == Reduction.NONE ? Dense.read(g.out(), 1) : null;
            INDArray dx = Nd4j.createUninitialized(DataType.FLOAT, logits.shape());
            NativeLoss.backward(x, t, ignoreIndex, c, rows, rowScale, scale(g.out(), reduction, count), dx);
            g.add(0, dx);
        }, logits);
    }

    /** The Java kernels; the probabilities are kept for the backward in a Java array. */
    private static Tensor javaLoss(Tensor logits, long[] ts, long[] t, long ignoreIndex, Reduction reduction,
                                   int count) {
        int n = t.length;
        int c = (int) (logits.value().length() / Math.max(1, n));
        double[] probs = new double[n * c];
        double[] loss = new double[n];
        LossKernels.crossEntropyForward(Dense.read(logits.value(), 0), t, ignoreIndex, n, c, probs, loss);
        return Tape.record("cross_entropy", reduce(loss, logits.dtype(), ts, reduction, count), g -> {
            double[] rowScale = reduction == Reduction.NONE ? Dense.read(g.out(), 1) : null;
            double[] dx = Dense.scratch(2, n * c);
            LossKernels.crossEntropyBackward(probs, t, ignoreIndex, rowScale, scale(g.out(), reduction, count), n, c,
                dx);
            g.add(0, Dense.array(dx, logits.dtype(), logits.shape()));
        }, logits);
    }

    /** The per-row losses as the output: themselves (NONE), or their sum, divided by count for MEAN. */
    private static INDArray reduce(double[] loss, DataType dtype, long[] ts, Reduction reduction, int count) {
        if (reduction == Reduction.NONE) {
            return Dense.array(loss, dtype, ts);
        }
        double sum = 0;
        for (double l : loss) {
            sum += l;
        }
        return Nd4j.scalar(dtype, reduction == Reduction.MEAN ? sum / count : sum);
    }

    /** The one scale of every row's gradient for SUM and MEAN (g / count for MEAN); unused for NONE. */
    private static double scale(INDArray gOut, Reduction reduction, int count) {
        return reduction == Reduction.NONE ? 0 : gOut.getDouble(0) / (reduction == Reduction.MEAN ? count : 1);
    }
}
