// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.shape.OneHot;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.conditions.Conditions;
import org.nd4j.linalg.ops.transforms.Transforms;
import spindle.autograd.Broadcasting;
import spindle.autograd.Memory;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;

/**
 * Reductions with PyTorch's conventions: dims may be negative, an empty dims list means every dim, and
 * keepDim keeps each reduced dim as size 1. Reducing every dim without keepDim gives a rank-0 scalar.
 */
public final class Reductions {
    private Reductions() {}

    /** Sum of every element as a rank-0 scalar, as {@code torch.sum(x)}. */
    public static Tensor sum(Tensor x) {
        return sum(x, false);
    }

    /** Sum over {@code dims} (all when none). d/dx = g broadcast back over the reduced dims. */
    public static Tensor sum(Tensor x, boolean keepDim, int... dims) {
        int[] d = dims("sum", x, dims);
        long[] shape = x.shape();
        return Tape.record("sum", x.value().sum(keepDim, d), g -> g.add(0, spread(g.out(), shape, d, 1)), x);
    }

    /** Mean of every element as a rank-0 scalar. */
    public static Tensor mean(Tensor x) {
        return mean(x, false);
    }

    /** Mean over {@code dims} (all when none). d/dx = g / n broadcast back, n = number of reduced elements. */
    public static Tensor mean(Tensor x, boolean keepDim, int... dims) {
        int[] d = dims("mean", x, dims);
        long[] shape = x.shape();
        double n = count(shape, d);
        return Tape.record("mean", x.value().mean(keepDim, d), g -> g.add(0, spread(g.out(), shape, d, 1 / n)), x);
    }

    /** Unbiased variance of every element (correction 1, PyTorch's default) as a rank-0 scalar. */
    public static Tensor var(Tensor x) {
        return var(x, 1, false);
    }

    /**
     * sum((x - mean)^2) / (n - correction) over {@code dims} (all when none); correction 1 is Bessel's
     * (unbiased, PyTorch's default), 0 the population variance. As in PyTorch, n <= correction divides by
     * max(0, n - correction) and gives inf or NaN. d/dx = 2 (x - mean) g / (n - correction).
     */
    public static Tensor var(Tensor x, int correction, boolean keepDim, int... dims) {
        int[] d = dims("var", x, dims);
        long[] shape = x.shape();
        double denom = Math.max(0, count(shape, d) - correction);
        INDArray mu = x.value().mean(true, d);
        INDArray xc = x.value().sub(mu);   // x - mean, saved: the mean's own gradient path sums to zero
        Memory.release(mu);
        INDArray sq = xc.mul(xc);
        INDArray out = sq.sum(keepDim, d).divi(denom);
        Memory.release(sq);
        return Tape.record("var", out, new INDArray[] {xc},
            g -> g.add(0, xc.mul(g.out().reshape(keptShape(shape, d))).muli(2 / denom)), x);
    }

    /**
     * Largest value along {@code dim} (torch.max(x, dim).values). The gradient goes to the first largest
     * element of each slice, the index torch.max(x, dim) returns: of tied maxima only the first gets it.
     */
    public static Tensor max(Tensor x, int dim, boolean keepDim) {
        return selectAlong("max", x, dim, keepDim);
    }

    /** Smallest value along {@code dim}; the gradient goes to the first smallest element, as {@link #max}. */
    public static Tensor min(Tensor x, int dim, boolean keepDim) {
        return selectAlong("min", x, dim, keepDim);
    }

    /** Largest element as a rank-0 scalar, as {@code torch.amax(x)}: tied maxima share the gradient equally. */
    public static Tensor amax(Tensor x) {
        return amax(x, false);
    }

    /** Largest value over {@code dims} (all when none); the gradient is split evenly among tied maxima. */
    public static Tensor amax(Tensor x, boolean keepDim, int... dims) {
        int[] d = dims("amax", x, dims);
        long[] kept = keptShape(x.shape(), d);
        INDArray out = x.value().max(keepDim, d);
        return Tape.record("amax", out, g -> {
            INDArray hit = x.value().eq(out.reshape(kept)).castTo(x.dtype());   // 1 where x is its slice's max
            INDArray ties = hit.sum(true, d);
            INDArray share = g.out().reshape(kept).div(ties);
            g.add(0, hit.muli(share));
            Memory.release(ties);
            Memory.release(share);
        }, x);
    }

    /**
     * log(sum(exp(x))) over {@code dims} (all when none), computed as m + log(sum(exp(x - m))) with m the
     * slice max so that large inputs do not overflow. d/dx = g * exp(x - out), the softmax of the slice.
     */
    public static Tensor logsumexp(Tensor x, boolean keepDim, int... dims) {
        int[] d = dims("logsumexp", x, dims);
        long[] kept = keptShape(x.shape(), d);
        INDArray m = x.value().max(true, d);
        // A slice that is all -inf (or holds +inf) would give inf - inf = NaN; shifting it by 0 instead gives
        // -inf (or +inf) as torch.logsumexp does.
        BooleanIndexing.replaceWhere(m, 0.0, Conditions.isInfinite());
        INDArray e = Transforms.exp(x.value().sub(m), false);
        INDArray s = e.sum(keepDim, d);
        Memory.release(e);
        INDArray out = Transforms.log(s, false).addi(keepDim ? m : m.reshape(s.shape()));
        Memory.release(m);
        return Tape.record("logsumexp", out, g -> {
            INDArray p = Transforms.exp(x.value().sub(out.reshape(kept)), false);
            g.add(0, p.muli(g.out().reshape(kept)));
        }, x);
    }

    private static Tensor selectAlong(String op, Tensor x, int dim, boolean keepDim) {
        int d = dim(op, x, dim);
        boolean max = op.equals("max");
        INDArray out = max ? x.value().max(keepDim, d) : x.value().min(keepDim, d);
        if (!Tape.isRecording(x)) {
            return Tape.record(op, out, g -> { }, x);
        }
        // Nd4j.argMax/argMin return the first extreme element of a slice, as torch.max(x, dim) does.
        INDArray idx = max ? Nd4j.argMax(x.value(), d) : Nd4j.argMin(x.value(), d);
        long[] kept = keptShape(x.shape(), new int[] {d});
        int n = (int) x.size(d);
        return Tape.record(op, out, new INDArray[] {idx}, g -> {
            INDArray hot = Nd4j.exec(new OneHot(idx, n, d, 1.0, 0.0, x.dtype()))[0];   // x's shape, 1 at the pick
            g.add(0, hot.muli(g.out().reshape(kept)));
        }, x);
    }

    /**
     * {@code g}, shaped like a reduction's output, stretched back to {@code shape} and scaled: a fresh array,
     * or g itself (which the engine never takes over) when nothing was reduced and the scale is 1.
     */
    static INDArray spread(INDArray g, long[] shape, int[] dims, double scale) {
        INDArray kept = g.reshape(keptShape(shape, dims));
        if (Arrays.equals(kept.shape(), shape)) {
            return scale == 1 ? kept : kept.mul(scale);
        }
        INDArray full = Broadcasting.expand(kept, shape);
        return scale == 1 ? full : full.muli(scale);
    }

    /** {@code shape} with every dim in {@code dims} set to 1: a reduction's output shape under keepDim. */
    static long[] keptShape(long[] shape, int[] dims) {
        long[] kept = shape.clone();
        for (int d : dims) {
            kept[d] = 1;
        }
        return kept;
    }

    private static double count(long[] shape, int[] dims) {
        double n = 1;
        for (int d : dims) {
            n *= shape[d];
        }
        return n;
    }

    /** {@code dim} made non-negative, or an error naming the op, the dim and x's shape. */
    static int dim(String op, Tensor x, int dim) {
        int rank = x.rank();
        if (dim < -rank || dim >= rank) {
            throw new IllegalArgumentException(op + ": dim " + dim + " is out of range for x of shape "
                + Arrays.toString(x.shape()) + " (expected a dim in [" + -rank + ", " + (rank - 1) + "])");
        }
        return dim < 0 ? dim + rank : dim;
    }

    /** {@code dims} made non-negative and sorted; none means every dim. Repeated dims are an error. */
    static int[] dims(String op, Tensor x, int... dims) {
        int rank = x.rank();
        if (dims.length == 0) {
            int[] all = new int[rank];
            Arrays.setAll(all, i -> i);
            return all;
        }
        int[] out = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            out[i] = dim(op, x, dims[i]);
        }
        Arrays.sort(out);
        for (int i = 1; i < out.length; i++) {
            if (out[i] == out[i - 1]) {
                throw new IllegalArgumentException(op + ": dim " + out[i] + " appears twice in dims "
                    + Arrays.toString(dims) + " for x of shape " + Arrays.toString(x.shape()));
            }
        }
        return out;
    }
}
