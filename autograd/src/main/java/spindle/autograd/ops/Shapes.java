// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.autograd.Broadcasting;
import spindle.autograd.Memory;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.NativeStrided;

/**
 * Ops that move elements without arithmetic: reshape, permute, narrow, expand and repeatInterleave, with
 * PyTorch's semantics (row-major element order, negative dims count from the end). As in PyTorch, the
 * result may share memory with x (a view) when no copy is needed; never change either in place.
 * Joining and splitting tensors lives in {@link Joins}.
 */
public final class Shapes {
    private Shapes() {}

    /**
     * x with the same elements in row-major order and a new {@code shape}; one entry may be -1 and is then
     * inferred from the element count. d/dx = g reshaped back.
     */
    public static Tensor reshape(Tensor x, long... shape) {
        long[] from = x.shape();
        long[] to = inferShape("reshape", from, shape);
        // ND4J quirk: reshape('c', n) with one size resolves to reshape(rows, cols) = [99, n]; pass a long[].
        INDArray out = WholeBufferReshape.reshape(x.value(), to);
        return Tape.record("reshape", out, g -> g.add(0, WholeBufferReshape.reshape(g.out(), from)), x);
    }

    /** Dims {@code startDim..endDim} (inclusive, negative allowed) merged into one, as {@code torch.flatten}. */
    public static Tensor flatten(Tensor x, int startDim, int endDim) {
        long[] s = x.shape();
        if (s.length == 0) {
            return reshape(x, 1);
        }
        int a = Reductions.dim("flatten", x, startDim);
        int b = Reductions.dim("flatten", x, endDim);
        if (a > b) {
            throw new IllegalArgumentException("flatten: startDim " + startDim + " comes after endDim " + endDim
                + " for x of shape " + Arrays.toString(s));
        }
        long[] to = new long[s.length - (b - a)];
        System.arraycopy(s, 0, to, 0, a);
        to[a] = Arrays.stream(s, a, b + 1).reduce(1, (p, q) -> p * q);
        System.arraycopy(s, b + 1, to, a + 1, s.length - b - 1);
        return reshape(x, to);
    }

    /** x with a new size-1 dim at {@code dim}, which may be in [-(rank + 1), rank] as in PyTorch. */
    public static Tensor unsqueeze(Tensor x, int dim) {
        long[] s = x.shape();
        int d = newDim("unsqueeze", x, dim);
        long[] to = new long[s.length + 1];
        System.arraycopy(s, 0, to, 0, d);
        to[d] = 1;
        System.arraycopy(s, d, to, d + 1, s.length - d);
        return reshape(x, to);
    }

    /** x without dim {@code dim} if its size is 1; otherwise x's shape is kept (as {@code torch.squeeze}). */
    public static Tensor squeeze(Tensor x, int dim) {
        long[] s = x.shape();
        int d = Reductions.dim("squeeze", x, dim);
        if (s[d] != 1) {
            return reshape(x, s);
        }
        long[] to = new long[s.length - 1];
        System.arraycopy(s, 0, to, 0, d);
        System.arraycopy(s, d + 1, to, d, s.length - d - 1);
        return reshape(x, to);
    }

    /** x without any of its size-1 dims. */
    public static Tensor squeeze(Tensor x) {
        return reshape(x, Arrays.stream(x.shape()).filter(n -> n != 1).toArray());
    }

    /** x with its dims reordered: output dim i is input dim {@code dims[i]}. d/dx = g permuted back. */
    public static Tensor permute(Tensor x, int... dims) {
        int rank = x.rank();
        if (dims.length != rank) {
            throw new IllegalArgumentException("permute: dims " + Arrays.toString(dims) + " must name each of the "
                + rank + " dims of x with shape " + Arrays.toString(x.shape()) + " once");
        }
        int[] p = new int[rank];
        int[] inverse = new int[rank];
        Arrays.fill(inverse, -1);
        for (int i = 0; i < rank; i++) {
            p[i] = Reductions.dim("permute", x, dims[i]);
            if (inverse[p[i]] >= 0) {
                throw new IllegalArgumentException("permute: dim " + dims[i] + " appears twice in dims "
                    + Arrays.toString(dims) + " for x of shape " + Arrays.toString(x.shape()));
            }
            inverse[p[i]] = i;
        }
        return Tape.record("permute", x.value().permute(p), g -> g.add(0, g.out().permute(inverse)), x);
    }

    /** x with dims {@code dim0} and {@code dim1} swapped, as {@code torch.transpose}. */
    public static Tensor transpose(Tensor x, int dim0, int dim1) {
        int a = Reductions.dim("transpose", x, dim0);
        int b = Reductions.dim("transpose", x, dim1);
        int[] p = new int[x.rank()];
        Arrays.setAll(p, i -> i);
        p[a] = b;
        p[b] = a;
        return permute(x, p);
    }

    /**
     * Elements {@code start .. start + length - 1} of x along {@code dim} (a view), as {@code torch.narrow};
     * a negative start counts from the end. d/dx is g in that window and 0 elsewhere.
     */
    public static Tensor narrow(Tensor x, int dim, long start, long length) {
        int d = Reductions.dim("narrow", x, dim);
        long[] s = x.shape();
        long from = start < 0 ? start + s[d] : start;
        if (from < 0 || length < 0 || from + length > s[d]) {
            throw new IllegalArgumentException("narrow: start " + start + " and length " + length + " do not fit in"
                + " dim " + dim + " (size " + s[d] + ") of x with shape " + Arrays.toString(s));
        }
        INDArrayIndex[] window = window(s.length, d, from, from + length);
        return Tape.record("narrow", x.value().get(window),
            g -> g.addInPlace(0, (grad, zeros) -> addIntoWindow(grad.get(window), g.out(), zeros)), x);
    }

    /**
     * window += part. ND4J adds into a strided window an order of magnitude slower than it copies into one, so
     * a window of zeros gets a copy, and otherwise the sum is formed in a contiguous temporary and copied back; in
     * float32 one native pass does either ({@link NativeStrided}).
     */
    static void addIntoWindow(INDArray window, INDArray part, boolean zeros) {
        if (NativeStrided.fits(window, part)) {
            NativeStrided.addInto(window, part, zeros);
            return;
        }
        if (zeros) {
            window.assign(part);
            return;
        }
        INDArray sum = window.dup('c');
        INDArray contiguous = part.isView() || part.ordering() != 'c' ? part.dup('c') : part;
        window.assign(sum.addi(contiguous));
        Memory.release(sum);
        if (contiguous != part) {
            Memory.release(contiguous);
        }
    }

    /**
     * x[start:end] along {@code dim} with Python's slice rules: negative bounds count from the end and
     * bounds past either end are clipped, so the result may be empty.
     */
    public static Tensor slice(Tensor x, int dim, long start, long end) {
        long n = x.size(Reductions.dim("slice", x, dim));
        long from = Math.min(Math.max(start < 0 ? start + n : start, 0), n);
        long to = Math.min(Math.max(end < 0 ? end + n : end, 0), n);
        return narrow(x, dim, from, Math.max(to - from, 0));
    }

    /**
     * x broadcast to {@code shape}, as {@code torch.expand}: -1 keeps a dim, a size-1 dim may take any size,
     * and new leading dims may be added. d/dx = g summed over the broadcast dims.
     */
    public static Tensor expand(Tensor x, long... shape) {
        long[] s = x.shape();
        int lead = shape.length - s.length;
        long[] to = shape.clone();
        boolean ok = lead >= 0;
        for (int i = 0; ok && i < to.length; i++) {
            long have = i < lead ? -2 : s[i - lead];
            if (to[i] == -1 && have != -2) {
                to[i] = have;
            }
            ok = to[i] >= 0 && (have == -2 || have == 1 || have == to[i]);
        }
        if (!ok) {
            throw new IllegalArgumentException("expand: x of shape " + Arrays.toString(s) + " cannot be expanded to "
                + Arrays.toString(shape) + " (dims align at the right; only size-1 dims stretch, -1 keeps a dim"
                + " and new leading dims need an explicit size)");
        }
        INDArray out = Arrays.equals(s, to) ? x.value() : Broadcasting.expand(x.value(), to);
        return Tape.record("expand", out, g -> g.add(0, g.out()), x);
    }

    /**
     * Each slice of x along {@code dim} repeated {@code repeats} times in place, as
     * {@code torch.repeat_interleave(x, repeats, dim)}: [a, b] gives [a, a, b, b] for 2. For grouped-query
     * attention, K/V of shape [B, G, T, D] become [B, G * r, T, D]. d/dx sums each group of r slices of g.
     */
    public static Tensor repeatInterleave(Tensor x, int repeats, int dim) {
        int d = Reductions.dim("repeatInterleave", x, dim);
        long[] s = x.shape();
        if (repeats < 1) {
            throw new IllegalArgumentException("repeatInterleave: repeats must be >= 1 but is " + repeats
                + " (x has shape " + Arrays.toString(s) + ")");
        }
        long[] grouped = new long[s.length + 1];   // [..., n, r, ...]: the r copies of slice i sit next to it
        System.arraycopy(s, 0, grouped, 0, d + 1);
        grouped[d + 1] = repeats;
        System.arraycopy(s, d + 1, grouped, d + 2, s.length - d - 1);
        long[] single = grouped.clone();
        single[d + 1] = 1;
        long[] to = s.clone();
        to[d] *= repeats;
        INDArray out = Broadcasting.expand(x.value().reshape('c', single), grouped).reshape('c', to);
        return Tape.record("repeat_interleave", out,
            g -> g.add(0, g.out().reshape('c', grouped).sum(d + 1).reshape('c', s)), x);
    }

    /** {@code shape} with its one allowed -1 filled in, or an error when the element counts differ. */
    private static long[] inferShape(String op, long[] from, long[] shape) {
        long n = Arrays.stream(from).reduce(1, (a, b) -> a * b);
        long known = 1;
        int free = -1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == -1 && free < 0) {
                free = i;
            } else if (shape[i] < 0) {
                throw new IllegalArgumentException(op + ": invalid target shape " + Arrays.toString(shape)
                    + " for x of shape " + Arrays.toString(from) + " (sizes must be >= 0, with at most one -1)");
            } else {
                known *= shape[i];
            }
        }
        long[] to = shape.clone();
        if (free >= 0 && known != 0 && n % known == 0) {
            to[free] = n / known;
        }
        if (free >= 0 ? known == 0 || n % known != 0 : known != n) {
            throw new IllegalArgumentException(op + ": x of shape " + Arrays.toString(from) + " has " + n
                + " elements and cannot be reshaped to " + Arrays.toString(shape));
        }
        return to;
    }

    /** {@code shape} with leading 1s up to {@code rank} dims, the alignment broadcasting uses. */
    static long[] padShape(long[] shape, int rank) {
        long[] padded = new long[rank];
        Arrays.fill(padded, 1);
        System.arraycopy(shape, 0, padded, rank - shape.length, shape.length);
        return padded;
    }

    /** A dim for a result of rank x.rank() + 1 (unsqueeze, stack): in [-(rank + 1), rank]. */
    static int newDim(String op, Tensor x, int dim) {
        int rank = x.rank() + 1;
        if (dim < -rank || dim >= rank) {
            throw new IllegalArgumentException(op + ": dim " + dim + " is out of range for a new dim of x with shape "
                + Arrays.toString(x.shape()) + " (expected a dim in [" + -rank + ", " + (rank - 1) + "])");
        }
        return dim < 0 ? dim + rank : dim;
    }

    /** Index that keeps every dim whole except {@code dim}, cut to [from, to). */
    static INDArrayIndex[] window(int rank, int dim, long from, long to) {
        INDArrayIndex[] w = new INDArrayIndex[rank];
        for (int i = 0; i < rank; i++) {
            w[i] = i == dim ? NDArrayIndex.interval(from, to) : NDArrayIndex.all();
        }
        return w;
    }
}
