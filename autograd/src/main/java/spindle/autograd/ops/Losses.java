// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import spindle.autograd.Memory;
import spindle.autograd.FlatIndex;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.Dense;

/** Loss functions as fused nodes: cross-entropy over class logits and mean squared error. */
public final class Losses {
    private Losses() {}

    /** How per-element losses are combined, as PyTorch's {@code reduction} argument. */
    public enum Reduction {
        /** Average over the counted elements (for cross-entropy: the targets that are not ignored). */
        MEAN,
        /** Sum over the elements. */
        SUM,
        /** No reduction: one loss per element, shaped like the targets. */
        NONE
    }

    /** PyTorch's default ignore_index: targets equal to it add no loss and get no gradient. */
    public static final long IGNORE_INDEX = -100;

    /** Mean cross-entropy with PyTorch's defaults (ignore index -100). */
    public static Tensor crossEntropy(Tensor logits, Tensor targets) {
        return crossEntropy(logits, targets, IGNORE_INDEX, Reduction.MEAN);
    }

    /**
     * -log softmax(logits)[target] per row, with logits [..., C] and integer targets [...] (INT64 or INT32) in
     * [0, C) or equal to {@code ignoreIndex}. Classes are the last dim ([N, C], [B, T, C]: PyTorch's
     * cross_entropy on logits.view(-1, C)), not dim 1 as in PyTorch's K-dim layout. MEAN divides by the
     * number of targets not ignored, so with every target ignored it is 0/0 = NaN as in PyTorch (the gradient
     * is then zero). d/dlogits = (softmax - onehot(target)) * g / count, zero rows for ignored targets.
     */
    public static Tensor crossEntropy(Tensor logits, Tensor targets, long ignoreIndex, Reduction reduction) {
        long[] ls = logits.shape();
        checkTargets(ls, targets);
        int c = (int) ls[ls.length - 1];
        int n = (int) targets.value().length();
        long[] t = Dense.longs(targets.value());
        Picks picks = picks(t, ignoreIndex, c, targets.shape(), ls);
        if (picks.rows().length == 0) {
            return allIgnored(logits, targets.shape(), reduction);
        }
        if (KernelCrossEntropy.fits(logits.value())) {
            return KernelCrossEntropy.apply(logits, targets.shape(), t, ignoreIndex, reduction, picks.rows().length);
        }
        INDArray logp = Softmax.logSoftmaxValue(logits.value(), ls.length - 1);
        INDArray at = Nd4j.createFromArray(picks.positions());
        INDArray picked = exec("gather", new INDArray[] {logp.reshape((long) n * c), at}, null, 0);
        INDArray out;
        if (reduction == Reduction.NONE) {
            out = Nd4j.zeros(logits.dtype(), targets.shape());
            INDArray flatOut = out.reshape(n);
            exec("scatter_add", new INDArray[] {flatOut, Nd4j.createFromArray(picks.rows()), picked}, flatOut);
            out.negi();
        } else {
            out = picked.sum().negi();
            if (reduction == Reduction.MEAN) {
                out.divi(picks.rows().length);
            }
        }
        Memory.release(picked);
        // Ignored rows get weight 0 in backward; without ignored rows no weights are needed.
        INDArray weights = picks.rows().length == n ? null : rowWeights(t, ignoreIndex, logits.dtype());
        INDArray[] saved = weights == null ? new INDArray[] {logp, at} : new INDArray[] {logp, at, weights};
        double count = reduction == Reduction.MEAN ? picks.rows().length : 1;
        return Tape.record("cross_entropy", out, saved, g -> {
            INDArray p = Transforms.exp(logp, true);   // softmax, in the logits' shape
            INDArray flat = p.reshape((long) n * c);
            exec("scatter_add", new INDArray[] {flat, at, Nd4j.valueArrayOf(at.shape(), -1.0, p.dataType())}, flat);
            INDArray rowScale;   // per-row factor g / count, 0 for ignored rows; null when one number does
            if (reduction == Reduction.NONE) {
                rowScale = weights == null ? g.out().reshape(n, 1) : weights.mul(g.out().reshape(n, 1));
            } else {
                double s = g.out().getDouble(0) / count;
                rowScale = weights == null ? null : weights.mul(s);
                if (weights == null) {
                    p.muli(s);
                }
            }
            if (rowScale != null) {
                p.reshape(n, c).muli(rowScale);
            }
            g.add(0, p);
        }, logits);
    }

    /** Flat positions (row * C + target) of the picked logits and the rows they are in, for counted targets. */
    private record Picks(long[] positions, long[] rows) {}

    /** Index bookkeeping over the n targets (not the n * C logits), checking each against [0, C). */
    private static Picks picks(long[] t, long ignoreIndex, int c, long[] ts, long[] ls) {
        long[] positions = new long[t.length];
        long[] rows = new long[t.length];
        int valid = 0;
        for (int r = 0; r < t.length; r++) {
            if (t[r] == ignoreIndex) {
                continue;
            }
            if (t[r] < 0 || t[r] >= c) {
                throw new IllegalArgumentException("crossEntropy: target value " + t[r] + " at index "
                    + Arrays.toString(FlatIndex.unravel(r, ts)) + " is out of range for C = " + c + " classes (logits of shape "
                    + Arrays.toString(ls) + "); targets must be in [0, " + (c - 1) + "] or equal ignoreIndex "
                    + ignoreIndex);
            }
            positions[valid] = (long) r * c + t[r];
            rows[valid++] = r;
        }
        return new Picks(Arrays.copyOf(positions, valid), Arrays.copyOf(rows, valid));
    }

    /** Mean squared error with PyTorch's default reduction (MEAN). */
    public static Tensor mse(Tensor pred, Tensor target) {
        return mse(pred, target, Reduction.MEAN);
    }

    /** (pred - target)^2, reduced; pred and target must have the same shape. d/dpred = 2 (pred - target) g / n. */
    public static Tensor mse(Tensor pred, Tensor target, Reduction reduction) {
        if (!Arrays.equals(pred.shape(), target.shape()) || pred.dtype() != target.dtype()) {
            throw new IllegalArgumentException("mse: pred has shape " + Arrays.toString(pred.shape())
                + " (" + pred.dtype() + ") and target has shape " + Arrays.toString(target.shape())
                + " (" + target.dtype() + "); they must have the same shape and dtype");
        }
        INDArray diff = pred.value().sub(target.value());
        INDArray sq = diff.mul(diff);
        INDArray out = reduction == Reduction.NONE ? sq : reduction == Reduction.SUM ? sq.sum() : sq.mean();
        if (out != sq) {
            Memory.release(sq);
        }
        double n = reduction == Reduction.MEAN ? diff.length() : 1;
        return Tape.record("mse", out, new INDArray[] {diff}, g -> {
            INDArray gp = reduction == Reduction.NONE ? diff.mul(g.out()).muli(2)
                : diff.mul(2 * g.out().getDouble(0) / n);
            INDArray gt = g.needs(1) ? gp.neg() : null;
            g.add(0, gp);
            if (gt != null) {
                g.add(1, gt);
            }
        }, pred, target);
    }

    private static void checkTargets(long[] ls, Tensor targets) {
        long[] ts = targets.shape();
        DataType tt = targets.dtype();
        if (tt != DataType.LONG && tt != DataType.INT) {
            throw new IllegalArgumentException("crossEntropy: targets must be an integer tensor (INT64 or INT32) of"
                + " class indices but are " + tt + " with shape " + Arrays.toString(ts));
        }
        if (ls.length != ts.length + 1 || !Arrays.equals(Arrays.copyOf(ls, ts.length), ts)) {
            throw new IllegalArgumentException("crossEntropy: logits have shape " + Arrays.toString(ls)
                + " and targets have shape " + Arrays.toString(ts)
                + "; logits must be targets' shape plus a last class dim C");
        }
    }

    /** Every target ignored: MEAN is 0/0 = NaN, SUM 0, NONE zeros, as in PyTorch; the gradient is zero. */
    private static Tensor allIgnored(Tensor logits, long[] ts, Reduction reduction) {
        INDArray out = reduction == Reduction.NONE ? Nd4j.zeros(logits.dtype(), ts)
            : Nd4j.scalar(logits.dtype(), reduction == Reduction.MEAN ? Double.NaN : 0.0);
        return Tape.record("cross_entropy", out, g -> g.add(0, Nd4j.zeros(logits.dtype(), logits.shape())), logits);
    }

    /** [n, 1] column of 1 for counted rows and 0 for ignored ones. */
    private static INDArray rowWeights(long[] t, long ignoreIndex, DataType dtype) {
        double[] w = new double[t.length];
        for (int r = 0; r < t.length; r++) {
            w[r] = t[r] == ignoreIndex ? 0 : 1;
        }
        INDArray col = Nd4j.create(w, new long[] {t.length, 1}, DataType.DOUBLE);
        return dtype == DataType.DOUBLE ? col : col.castTo(dtype);
    }

    private static INDArray exec(String op, INDArray[] inputs, INDArray output, int... intArgs) {
        DynamicCustomOp.DynamicCustomOpsBuilder b =
            DynamicCustomOp.builder(op).addInputs(inputs).addIntegerArguments(intArgs);
        if (output != null) {
            b.addOutputs(output);
        }
        return Nd4j.exec(b.build())[0];
    }
}
