// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.custom.Triu;
import org.nd4j.linalg.api.ops.impl.transforms.comparison.CompareAndReplace;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.indexing.conditions.Conditions;
import spindle.autograd.Broadcasting;
import spindle.autograd.Memory;
import spindle.autograd.FlatIndex;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.NativeScatter;

/**
 * Picking elements by integer index (gather, indexSelect, embedding) and adding them back (scatterAdd),
 * with torch's semantics. Index tensors are INT64 or INT32 and carry no gradient; every index is checked
 * against its range. Repeated indices are allowed: their gradients add up. Also selection by BOOL masks
 * (where, maskedFill), triu, and the causal attention masks.
 */
public final class Indexing {
    private Indexing() {}

    /**
     * out[p] = x[p with coordinate dim replaced by index[p]], as {@code torch.gather}: index has x's rank,
     * index.size(k) <= x.size(k) for k != dim, and out has index's shape. d/dx scatter-adds g back.
     */
    public static Tensor gather(Tensor x, int dim, Tensor index) {
        int d = Reductions.dim("gather", x, dim);
        long[] xs = x.shape();
        checkGrid("gather", index, "x", xs, d, false);
        checkRange("gather", "index", index.value(), xs[d], "x.size(" + dim + ") of x with shape "
            + Arrays.toString(xs));
        if (index.value().isEmpty()) {   // ND4J's LONG arithmetic refuses empty arrays
            return Tape.record("gather", Nd4j.create(x.dtype(), index.shape()),
                g -> g.add(0, Nd4j.zeros(x.dtype(), xs)), x);
        }
        INDArray pos = positions(index.value(), xs, d);
        INDArray out = gatherFlat(x.value(), pos);
        return Tape.record("gather", out, new INDArray[] {pos}, g -> g.add(0, segmentSum(g.out(), pos, xs)), x);
    }

    /**
     * The slices of x at positions {@code index} (1-D, repeats allowed) along {@code dim}, as
     * {@code torch.index_select}: dim's size becomes index's length. d/dx adds each slice of g to its source.
     */
    public static Tensor indexSelect(Tensor x, int dim, Tensor index) {
        int d = Reductions.dim("indexSelect", x, dim);
        long[] xs = x.shape();
        checkIntegers("indexSelect", "index", index);
        if (index.rank() > 1) {
            throw new IllegalArgumentException("indexSelect: index must be 1-D but has shape "
                + Arrays.toString(index.shape()) + " (x has shape " + Arrays.toString(xs) + ")");
        }
        checkRange("indexSelect", "index", index.value(), xs[d], "x.size(" + dim + ") of x with shape "
            + Arrays.toString(xs));
        INDArray idx = index.value().reshape('c', new long[] {index.value().length()});
        long[] os = xs.clone();
        os[d] = idx.length();
        INDArray out = Nd4j.createUninitialized(x.dtype(), os);
        if (d == 0) {
            RowGather.rows(x.value(), idx, out);
        } else {
            Nd4j.exec(DynamicCustomOp.builder("gather").addInputs(x.value(), idx).addOutputs(out)
                .addIntegerArguments(d).build());
        }
        int[] front = toFront(xs.length, d);   // scatter_add works on dim 0 only
        return Tape.record("index_select", out,
            g -> g.addInPlace(0, (grad, zeros) -> scatterRows(grad.permute(front), idx, g.out().permute(front))), x);
    }

    /**
     * x with src[p] added at x[p with coordinate dim replaced by index[p]] for every position p of index, as
     * {@code torch.scatter_add}; repeated targets accumulate. d/dx = g, d/dsrc[p] = g at p's target.
     */
    public static Tensor scatterAdd(Tensor x, int dim, Tensor index, Tensor src) {
        int d = Reductions.dim("scatterAdd", x, dim);
        long[] xs = x.shape();
        long[] ss = src.shape();
        if (src.dtype() != x.dtype()) {
            throw new IllegalArgumentException("scatterAdd: src is " + src.dtype() + " with shape "
                + Arrays.toString(ss) + " but x is " + x.dtype() + " with shape " + Arrays.toString(xs)
                + "; cast first");
        }
        checkGrid("scatterAdd", index, "x", xs, d, false);
        checkGrid("scatterAdd", index, "src", ss, -1, true);
        checkRange("scatterAdd", "index", index.value(), xs[d], "x.size(" + dim + ") of x with shape "
            + Arrays.toString(xs));
        long[] is = index.shape();
        if (index.value().isEmpty()) {
            return Tape.record("scatter_add", x.value().dup(), g -> {
                g.add(0, g.out());
                g.add(1, Nd4j.zeros(src.dtype(), ss));
            }, x, src);
        }
        INDArrayIndex[] region = region(is);
        INDArray pos = positions(index.value(), xs, d);
        INDArray out = segmentSum(Arrays.equals(is, ss) ? src.value() : src.value().get(region), pos, xs);
        out.addi(x.value());
        return Tape.record("scatter_add", out, new INDArray[] {pos}, g -> {
            g.add(0, g.out());
            if (g.needs(1)) {
                INDArray picked = gatherFlat(g.out(), pos);   // shaped like index
                if (Arrays.equals(is, ss)) {
                    g.add(1, picked);
                } else {
                    INDArray grad = Nd4j.zeros(src.dtype(), ss);
                    grad.get(region).assign(picked);
                    Memory.release(picked);
                    g.add(1, grad);
                }
            }
        }, x, src);
    }

    /**
     * Rows of {@code weight} [V, D] picked by {@code ids} of any shape: out [..., D] with out[p] = weight[ids[p]].
     * d/dweight scatter-adds each row of g into row ids[p], so repeated ids accumulate. A frozen 16-bit weight
     * gives float32 rows ({@link Widening}).
     */
    public static Tensor embedding(Tensor weight, Tensor ids) {
        long[] ws = weight.shape();
        if (ws.length != 2) {
            throw new IllegalArgumentException("embedding: weight must be [V, D] but has shape " + Arrays.toString(ws));
        }
        checkIntegers("embedding", "ids", ids);
        checkRange("embedding", "id", ids.value(), ws[0], "V = " + ws[0] + " (weight of shape "
            + Arrays.toString(ws) + ")");
        long n = ids.value().length();
        long[] os = Arrays.copyOf(ids.shape(), ids.rank() + 1);
        os[os.length - 1] = ws[1];
        INDArray out = Nd4j.createUninitialized(weight.dtype(), os);
        RowGather.rows(weight.value(), flatIds(ids), WholeBufferReshape.reshape(out, new long[] {n, ws[1]}));
        if (Widening.isNarrow(weight.dtype())) {   // a frozen bf16 table gives float32 rows
            Widening.check("embedding", weight, DataType.FLOAT);
            INDArray rows = out;
            out = rows.castTo(DataType.FLOAT);
            Memory.release(rows);
        }
        return Tape.record("embedding", out,
            g -> g.addInPlace(0, (grad, zeros) -> scatterRows(grad, flatIds(ids),
                WholeBufferReshape.reshape(g.out(), new long[] {n, ws[1]}))),
            weight);
    }

    /**
     * cond ? a : b element by element, with cond a BOOL tensor and all three broadcast together, as
     * {@code torch.where}. d/da = g where cond holds and 0 elsewhere; d/db the other way round.
     */
    public static Tensor where(Tensor cond, Tensor a, Tensor b) {
        checkBool("where", "cond", cond);
        if (a.dtype() != b.dtype()) {
            throw new IllegalArgumentException("where: a is " + a.dtype() + " with shape " + Arrays.toString(a.shape())
                + " but b is " + b.dtype() + " with shape " + Arrays.toString(b.shape()) + "; cast first");
        }
        long[] s = Broadcasting.shape(Broadcasting.shape(cond.shape(), a.shape(), "where (cond, a)"), b.shape(),
            "where (cond and a, b)");
        INDArray[] tags = tags(cond.value(), a.dtype());
        INDArray out = pick(tags, a.value(), b.value(), s);
        return Tape.record("where", out, tags, g -> {
            if (g.needs(0)) {
                g.add(0, pick(tags, g.out(), null, s));
            }
            if (g.needs(1)) {
                g.add(1, pick(new INDArray[] {tags[1], tags[0]}, g.out(), null, s));
            }
        }, a, b);
    }

    /**
     * x with {@code value} wherever the BOOL {@code mask} (broadcast to x's shape) is true, as
     * {@code torch.masked_fill}; e.g. scores with -inf at future keys. d/dx = g where mask is false, else 0.
     * Adding an additive mask (0 to keep, -inf to hide) to the scores does the same for finite scores.
     */
    public static Tensor maskedFill(Tensor x, Tensor mask, double value) {
        checkBool("maskedFill", "mask", mask);
        long[] xs = x.shape();
        if (!Arrays.equals(Broadcasting.shape(mask.shape(), xs, "maskedFill"), xs)) {
            throw new IllegalArgumentException("maskedFill: mask of shape " + Arrays.toString(mask.shape())
                + " must broadcast to the shape of x " + Arrays.toString(xs) + " without growing it");
        }
        INDArray[] tags = tags(mask.value(), x.dtype());
        INDArray fill = Nd4j.scalar(x.dtype(), value);
        INDArray out = pick(tags, fill, x.value(), xs);
        Memory.release(fill);
        INDArray[] swapped = {tags[1], tags[0]};
        return Tape.record("masked_fill", out, tags, g -> g.add(0, pick(swapped, g.out(), null, xs)), x);
    }

    /**
     * The upper triangle of the last two dims of x, as {@code torch.triu}: element (i, j) is kept when
     * j - i >= diagonal and is 0 otherwise (also where x is inf or NaN). d/dx = triu(g, diagonal).
     */
    public static Tensor triu(Tensor x, int diagonal) {
        if (x.rank() < 2) {
            throw new IllegalArgumentException("triu: x must have rank >= 2 but has shape "
                + Arrays.toString(x.shape()));
        }
        INDArray out = Nd4j.exec(new Triu(x.value(), diagonal))[0];
        return Tape.record("triu", out, g -> g.add(0, Nd4j.exec(new Triu(g.out(), diagonal))[0]), x);
    }

    /**
     * {cond ? 0 : NaN, cond ? NaN : 0} in cond's shape and {@code dtype}: subtracting a tag keeps a value
     * exactly (x - 0 = x, even for -0 and inf) or turns it into NaN, which marks the side not taken.
     */
    private static INDArray[] tags(INDArray cond, DataType dtype) {
        INDArray m = cond.castTo(dtype);                       // 1 where cond holds, 0 elsewhere
        INDArray takeA = m.rdiv(1.0).muli(0.0);                // 1 * 0 = 0, or 1/0 * 0 = inf * 0 = NaN
        INDArray takeB = m.rsubi(1.0).rdivi(1.0).muli(0.0);    // the same for 1 - m
        return new INDArray[] {takeA, takeB};
    }

    /**
     * cond ? a : b broadcast to {@code s}, exactly, as a fresh array; b null means 0. a - tags[0] is NaN where
     * b must be taken and b - tags[1] is NaN where a must be, so one CompareAndReplace (take the second where
     * the first is NaN) picks; a NaN in a where cond holds meets NaN on b's side and stays NaN. ND4J's Select,
     * where_np and putWhereWithMask do the same but took 0.4 s for 4M floats, against 0.01 to 0.04 s here.
     */
    private static INDArray pick(INDArray[] tags, INDArray a, INDArray b, long[] s) {
        INDArray first = minus(a, tags[0], s);
        INDArray second = b != null ? minus(b, tags[1], s)
            : Arrays.equals(tags[1].shape(), s) ? tags[1].dup() : Broadcasting.expand(tags[1], s);   // freed below
        Nd4j.exec(new CompareAndReplace(first, second, first, Conditions.isNan()));
        Memory.release(second);
        return first;
    }

    /** x - tag as a fresh array of shape s (both broadcast). */
    private static INDArray minus(INDArray x, INDArray tag, long[] s) {
        INDArray t = tag.rank() == s.length ? tag : tag.reshape('c', Shapes.padShape(tag.shape(), s.length));
        return Arrays.equals(x.shape(), s) ? x.sub(t) : Broadcasting.expand(x, s).subi(t);
    }

    private static void checkBool(String op, String name, Tensor mask) {
        if (mask.dtype() != DataType.BOOL) {
            throw new IllegalArgumentException(op + ": " + name + " must be a BOOL tensor but is " + mask.dtype()
                + " with shape " + Arrays.toString(mask.shape()));
        }
    }

    /**
     * Flat row-major positions in an array of shape {@code xs} of the elements {@code index} points at along
     * dim: index[p] * stride(dim) + sum over k != dim of p[k] * stride(k). INT64, shaped like index.
     */
    private static INDArray positions(INDArray index, long[] xs, int dim) {
        long[] strides = new long[xs.length];
        long stride = 1;
        for (int k = xs.length - 1; k >= 0; k--) {
            strides[k] = stride;
            stride *= xs[k];
        }
        long[] is = index.shape();
        // castTo returns the index itself when it is INT64 already: never scale that in place.
        INDArray pos = index.dataType() == DataType.LONG ? index.mul(strides[dim])
            : index.castTo(DataType.LONG).muli(strides[dim]);
        for (int k = 0; k < is.length; k++) {
            if (k == dim || is[k] == 1) {
                continue;
            }
            long[] offsets = new long[(int) is[k]];   // p[k] * stride(k) for p[k] = 0 .. is[k] - 1
            for (int i = 0; i < offsets.length; i++) {
                offsets[i] = i * strides[k];
            }
            long[] along = new long[is.length];
            Arrays.fill(along, 1);
            along[k] = is[k];
            pos.addi(Nd4j.createFromArray(offsets).reshape('c', along));
        }
        return pos;
    }

    /** values.flat[pos] for every element of pos, shaped like pos (values read in row-major order). */
    private static INDArray gatherFlat(INDArray values, INDArray pos) {
        INDArray out = Nd4j.createUninitialized(values.dataType(), pos.shape());
        long n = pos.length();
        // ND4J's gather crashes the JVM (SIGSEGV) for a 1-D input with 2-D indices, so both go in flat.
        INDArray flat = values.reshape('c', new long[] {values.length()});
        Nd4j.exec(DynamicCustomOp.builder("gather").addInputs(flat, pos.reshape('c', new long[] {n}))
            .addOutputs(out.reshape('c', new long[] {n})).addIntegerArguments(0).build());
        return out;
    }

    /**
     * A fresh array of shape {@code xs} whose flat element i is the sum of the values at the positions where
     * pos == i. unsorted_segment_sum adds repeated positions exactly; it measured 5 times faster than a 1-D
     * scatter_add, which also races on repeated positions unless it is told to lock.
     */
    private static INDArray segmentSum(INDArray values, INDArray pos, long[] xs) {
        long n = Arrays.stream(xs).reduce(1, (a, b) -> a * b);
        INDArray out = Nd4j.create(values.dataType(), xs);
        INDArray flat = values.reshape('c', new long[] {values.length()});
        INDArray at = pos.reshape('c', new long[] {pos.length()});
        Nd4j.exec(DynamicCustomOp.builder("unsorted_segment_sum").addInputs(flat, at)
            .addOutputs(out.reshape('c', new long[] {n})).addIntegerArguments(Math.toIntExact(n)).build());
        return out;
    }

    /**
     * target[idx[i]] += rows[i] along dim 0, in place: natively in float32 ({@link NativeScatter}), else by ND4J's
     * scatter_add, whose lock argument makes it run single-threaded: without it threads add to a row that several ids
     * share at the same time and lose updates.
     */
    private static void scatterRows(INDArray target, INDArray idx, INDArray rows) {
        if (NativeScatter.fits(target, idx, rows)) {
            NativeScatter.addRows(target, idx, rows);
            return;
        }
        Nd4j.exec(DynamicCustomOp.builder("scatter_add").addInputs(target, idx, rows).addOutputs(target)
            .addBooleanArguments(true).build());
    }

    private static INDArray flatIds(Tensor ids) {
        return WholeBufferReshape.reshape(ids.value(), new long[] {ids.value().length()});
    }

    /** Permutation that brings dim d to the front, keeping the other dims in order. */
    private static int[] toFront(int rank, int d) {
        int[] p = new int[rank];
        p[0] = d;
        for (int i = 0, j = 1; i < rank; i++) {
            if (i != d) {
                p[j++] = i;
            }
        }
        return p;
    }

    /** The leading block [0, is[k]) of every dim: where an index grid sits inside a bigger src. */
    private static INDArrayIndex[] region(long[] is) {
        INDArrayIndex[] r = new INDArrayIndex[is.length];
        for (int k = 0; k < is.length; k++) {
            r[k] = NDArrayIndex.interval(0, is[k]);
        }
        return r;
    }

    static void checkIntegers(String op, String name, Tensor index) {
        DataType t = index.dtype();
        if (t != DataType.LONG && t != DataType.INT) {
            throw new IllegalArgumentException(op + ": " + name + " must be an INT64 or INT32 tensor but is " + t
                + " with shape " + Arrays.toString(index.shape()));
        }
    }

    /** index is integer, has the rank of {@code other}, and fits inside it in every dim but {@code dim}. */
    private static void checkGrid(String op, Tensor index, String name, long[] other, int dim, boolean srcRule) {
        checkIntegers(op, "index", index);
        long[] is = index.shape();
        boolean ok = is.length == other.length;
        for (int k = 0; ok && k < is.length; k++) {
            ok = k == dim || is[k] <= other[k];
        }
        if (!ok) {
            throw new IllegalArgumentException(op + ": index has shape " + Arrays.toString(is) + " and " + name
                + " has shape " + Arrays.toString(other) + "; index must have " + name + "'s rank and no bigger size"
                + (srcRule ? " in any dim" : " in any dim but dim " + dim));
        }
    }

    /** Every element of {@code index} in [0, n), or an error naming the first one outside and where it is. */
    private static void checkRange(String op, String name, INDArray index, long n, String bound) {
        if (index.length() == 0 || IntegerElements.allInRange(index, 0, n)) {
            return;
        }
        long[] all = index.reshape('c', new long[] {index.length()}).toLongVector();
        int i = 0;
        while (all[i] >= 0 && all[i] < n) {
            i++;
        }
        throw new IllegalArgumentException(op + ": " + name + " " + all[i] + " at "
            + Arrays.toString(FlatIndex.unravel(i, index.shape())) + " is out of range for " + bound
            + "; expected values in [0, " + (n - 1) + "]");
    }
}
