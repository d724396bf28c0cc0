// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Memory;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.NativeStrided;

/**
 * Joining tensors (concat, stack) and cutting one into pieces (split), as in PyTorch. Each piece of a
 * split is its own {@link Shapes#narrow} node, so pieces that the loss does not use cost nothing in backward.
 */
public final class Joins {
    private Joins() {}

    /**
     * xs joined along {@code dim}, as {@code torch.cat}: same dtype and rank, equal sizes in every other dim.
     * d/dxs[i] is the slice of g that xs[i] filled.
     */
    public static Tensor concat(int dim, Tensor... xs) {
        checkSameKind("concat", xs);
        int d = Reductions.dim("concat", xs[0], dim);
        long[] first = xs[0].shape();
        INDArray[] values = new INDArray[xs.length];
        long[] starts = new long[xs.length + 1];
        for (int i = 0; i < xs.length; i++) {
            long[] s = xs[i].shape();
            boolean same = s.length == first.length;
            for (int k = 0; same && k < s.length; k++) {
                same = k == d || s[k] == first[k];
            }
            if (!same) {
                throw new IllegalArgumentException("concat: xs[" + i + "] has shape " + Arrays.toString(s)
                    + " but xs[0] has shape " + Arrays.toString(first) + "; all shapes must match except in dim "
                    + dim);
            }
            values[i] = xs[i].value();
            starts[i + 1] = starts[i] + s[d];
        }
        int rank = first.length;
        long[] shape = first.clone();
        shape[d] = starts[xs.length];
        // each part copied into its window of a fresh array: ND4J's concat is about 3 times slower on the
        // strided views (split, transpose) this usually gets
        INDArray out = Nd4j.createUninitialized(xs[0].dtype(), shape);
        for (int i = 0; i < xs.length; i++) {
            if (starts[i + 1] > starts[i] && NativeStrided.copyFits(out, values[i])) {   // no view, no ND4J op
                NativeStrided.copyInto(out, starts[i] * out.stride(d), out.stride(), values[i]);
            } else if (starts[i + 1] > starts[i]) {   // an empty part has no window to fill
                out.get(Shapes.window(rank, d, starts[i], starts[i + 1])).assign(values[i]);
            }
        }
        return Tape.record("concat", out, g -> {
            for (int i = 0; i < xs.length; i++) {
                if (g.needs(i)) {
                    g.add(i, g.out().get(Shapes.window(rank, d, starts[i], starts[i + 1])));
                }
            }
        }, xs);
    }

    /** values (of one shape) stacked along the new size-1 dim d of unit: natively copied into slots, else ND4J. */
    private static INDArray stacked(INDArray[] values, long[] unit, int d) {
        if (values[0].isEmpty() || values[0].rank() != unit.length - 1) {
            return Nd4j.concat(d, Arrays.stream(values).map(v -> v.reshape('c', unit)).toArray(INDArray[]::new));
        }
        long[] shape = unit.clone();
        shape[d] = values.length;
        INDArray out = Nd4j.createUninitialized(values[0].dataType(), shape);
        long[] slot = new long[unit.length - 1];   // out's strides without dim d
        for (int k = 0, j = 0; k < unit.length; k++) {
            if (k != d) {
                slot[j++] = out.stride(k);
            }
        }
        if (Arrays.stream(values).allMatch(v -> NativeStrided.copyFits(out, v))) {
            for (int i = 0; i < values.length; i++) {
                NativeStrided.copyInto(out, i * out.stride(d), slot, values[i]);
            }
            return out;
        }
        Memory.release(out);
        return Nd4j.concat(d, Arrays.stream(values).map(v -> v.reshape('c', unit)).toArray(INDArray[]::new));
    }

    /**
     * xs (all of one shape and dtype) joined along a new dim {@code dim} in [-(rank + 1), rank], as
     * {@code torch.stack}: n tensors of shape [A, B] stacked at dim 1 give [A, n, B].
     */
    public static Tensor stack(int dim, Tensor... xs) {
        checkSameKind("stack", xs);
        int d = Shapes.newDim("stack", xs[0], dim);
        long[] s = xs[0].shape();
        long[] unit = new long[s.length + 1];   // each input with its new size-1 dim
        System.arraycopy(s, 0, unit, 0, d);
        unit[d] = 1;
        System.arraycopy(s, d, unit, d + 1, s.length - d);
        INDArray[] values = new INDArray[xs.length];
        for (int i = 0; i < xs.length; i++) {
            if (!Arrays.equals(xs[i].shape(), s)) {
                throw new IllegalArgumentException("stack: xs[" + i + "] has shape " + Arrays.toString(xs[i].shape())
                    + " but xs[0] has shape " + Arrays.toString(s) + "; stack needs equal shapes");
            }
            values[i] = xs[i].value();
        }
        return Tape.record("stack", stacked(values, unit, d), g -> {
            for (int i = 0; i < xs.length; i++) {
                if (g.needs(i)) {
                    g.add(i, g.out().get(Shapes.window(unit.length, d, i, i + 1)).reshape('c', s));
                }
            }
        }, xs);
    }

    /**
     * x cut along {@code dim} into pieces of the given sizes, which must add up to the dim's size, as
     * {@code torch.split(x, [sizes], dim)}. Pass an array for a single size: one long means a chunk size.
     */
    public static Tensor[] split(Tensor x, int dim, long... sizes) {
        int d = Reductions.dim("split", x, dim);
        long total = 0;
        for (long n : sizes) {
            if (n < 0) {
                total = -1;
                break;
            }
            total += n;
        }
        if (total != x.size(d)) {
            throw new IllegalArgumentException("split: sizes " + Arrays.toString(sizes) + " must be >= 0 and add up to"
                + " the size of dim " + dim + " (" + x.size(d) + ") of x with shape " + Arrays.toString(x.shape()));
        }
        Tensor[] pieces = new Tensor[sizes.length];
        long start = 0;
        for (int i = 0; i < sizes.length; i++) {
            pieces[i] = Shapes.narrow(x, d, start, sizes[i]);
            start += sizes[i];
        }
        return pieces;
    }

    /**
     * x cut along {@code dim} into pieces of {@code size} (the last one smaller when the dim's size is not a
     * multiple), as {@code torch.split(x, size, dim)}.
     */
    public static Tensor[] split(Tensor x, int dim, long size) {
        int d = Reductions.dim("split", x, dim);
        long n = x.size(d);
        if (size < 1) {
            throw new IllegalArgumentException("split: chunk size must be >= 1 but is " + size + " (x has shape "
                + Arrays.toString(x.shape()) + ")");
        }
        int count = (int) Math.max(1, (n + size - 1) / size);
        long[] sizes = new long[count];
        for (int i = 0; i < count; i++) {
            sizes[i] = Math.min(size, n - i * size);
        }
        return split(x, d, sizes);
    }

    /** At least one tensor, all non-null, of one dtype, and of rank >= 1 for concat. */
    private static void checkSameKind(String op, Tensor[] xs) {
        if (xs.length == 0) {
            throw new IllegalArgumentException(op + ": needs at least one tensor");
        }
        for (int i = 0; i < xs.length; i++) {
            if (xs[i] == null) {
                throw new IllegalArgumentException(op + ": xs[" + i + "] is null");
            }
            if (xs[i].dtype() != xs[0].dtype()) {
                throw new IllegalArgumentException(op + ": xs[" + i + "] is " + xs[i].dtype() + " with shape "
                    + Arrays.toString(xs[i].shape()) + " but xs[0] is " + xs[0].dtype() + "; cast first");
            }
        }
        if (op.equals("concat") && xs[0].rank() == 0) {
            throw new IllegalArgumentException("concat: xs[0] is a rank-0 scalar; use stack to join scalars");
        }
    }
}
