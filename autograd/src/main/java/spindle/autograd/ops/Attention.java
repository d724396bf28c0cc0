// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.autograd.Grads;
import spindle.autograd.Memory;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.AttentionKernels;
import spindle.autograd.kernels.NativeGemm;

/**
 * Causal scaled dot-product attention as one fused node, for multi-head, grouped-query and multi-query
 * attention. The query heads that share a key/value head are stacked as extra rows of one matrix, so K and V
 * are never repeated: q [B, H, Tq, D] is viewed as [B, Hkv, (H/Hkv)·Tq, D] and each product is one batched gemm.
 */
public final class Attention {
    private Attention() {}

    /** Queries per block below which splitting the queries into blocks saves less than its extra ops cost. */
    static final long MIN_BLOCK_QUERIES = 64;

    /**
     * {@link #causal(Tensor, Tensor, Tensor, double, Tensor, int)} on the fused path when it takes the inputs (it
     * skips the masked keys by itself), else with up to 4 query blocks of at least 64 queries.
     */
    public static Tensor causal(Tensor q, Tensor k, Tensor v, double scale, Tensor keepMask) {
        long tq = q.shape().length == 4 ? q.size(2) : 1;
        boolean fused = keepMask == null && FusedCausalAttention.fits(q, k, v);   // fits only rank-4 q, k, v
        return causal(q, k, v, scale, keepMask, fused ? 1 : (int) Math.max(1, Math.min(4, tq / MIN_BLOCK_QUERIES)));
    }

    /**
     * softmax(q kᵀ · scale + mask) v, as torch's scaled_dot_product_attention with is_causal and a key padding
     * mask, with k and v repeat-interleaved to H heads (query head h reads key/value head h / (H/Hkv)).
     *
     * <p>Shapes: q [B, H, Tq, D], k [B, Hkv, Tk, D], v [B, Hkv, Tk, Dv] → [B, H, Tq, Dv]; Tq ≤ Tk and query i
     * sits at position Tk - Tq + i (the new tokens of a decode step come last), seeing keys 0 .. that position.
     * {@code keepMask} is null or BOOL [B, Tk], false at padding keys. A query row that can see no key at all
     * (a left-padding position) gets output 0 and gradient 0, not NaN.
     *
     * <p>The queries are split into {@code queryBlocks} blocks of consecutive positions (at most Tq), and a block
     * scores only the keys up to its last query: the keys after it are masked for all of its queries. With n
     * blocks this skips (n - 1) / 2n of the score matrix, in the gemms, the softmax and the backward alike. The
     * result is the same up to rounding for any n.
     *
     * <p>Backward, per block: with P the probabilities and dP = dO vᵀ, dS = P ⊙ (dP - rowsum(dO ⊙ O)) · scale;
     * dq = dS k, dk = dSᵀ q, dv = Pᵀ dO, the last two summed over the query heads of a group by the gemm and over
     * the blocks into the key prefix each block saw. The scale rides on the gemms (their alpha), so the
     * [rows, keys] arrays are passed over as few times as possible.
     *
     * <p>Float32 in one block without a mask, with the native kernels on, takes {@link FusedCausalAttention}: the
     * same steps in one native call forward and one backward, with no ND4J op between them, each query reading
     * only the keys it sees.
     */
    public static Tensor causal(Tensor q, Tensor k, Tensor v, double scale, Tensor keepMask, int queryBlocks) {
        long[] qs = q.shape();
        check(qs, k.shape(), v.shape(), keepMask, q, k, v);
        if (queryBlocks < 1) {
            throw new IllegalArgumentException("Attention.causal: queryBlocks must be at least 1 but is " + queryBlocks);
        }
        if (queryBlocks == 1 && keepMask == null && FusedCausalAttention.fits(q, k, v)) {
            return FusedCausalAttention.causal(q, k, v, scale);
        }
        Geometry at = new Geometry(qs[0], qs[1], k.size(1), qs[2], k.size(2), qs[3], v.size(3));
        int n = (int) Math.min(queryBlocks, at.tq);
        long[] firstKept = null;
        INDArray padding = null;
        if (keepMask != null) {
            boolean[][] kept = AttentionMasks.keptKeys(keepMask.value());
            firstKept = AttentionMasks.firstKeptKeys(kept);
            padding = AttentionMasks.paddingScores(kept, q.dtype());
        }
        INDArray q5 = q.value().reshape('c', at.b, at.hkv, at.rep(), at.tq, at.d);   // a view unless q is strided
        Block[] blocks = new Block[n];
        for (int c = 0; c < n; c++) {
            long from = at.tq * c / n;
            long to = at.tq * (c + 1) / n;
            INDArray qc = n == 1 ? q5 : window(q5, from, to).dup('c');
            blocks[c] = Block.forward(at, qc.reshape(at.b, at.hkv, at.rep() * (to - from), at.d), from, to,
                keyPrefix(k.value(), at.keysSeenBy(to)), keyPrefix(v.value(), at.keysSeenBy(to)), scale, padding,
                firstKept);
        }
        if (n > 1 && !Memory.sharesBuffer(q5, q.value())) {
            Memory.release(q5);
        }
        Memory.release(padding);
        INDArray out = n == 1 ? blocks[0].out() : Nd4j.createUninitialized(q.dtype(), at.b, at.hkv, at.rep(), at.tq, at.dv);
        for (int c = 0; n > 1 && c < n; c++) {
            window(out, blocks[c].from(), blocks[c].to()).assign(blocks[c].out().reshape(at.b, at.hkv, at.rep(),
                blocks[c].queries(), at.dv));
        }
        List<INDArray> saved = new ArrayList<>();
        for (Block blk : blocks) {
            saved.addAll(List.of(blk.p(), blk.out()));
            if (!Memory.sharesBuffer(blk.q(), q.value())) {
                saved.add(blk.q());
            }
        }
        return Tape.record("causal_attention", out.reshape(at.b, at.h, at.tq, at.dv), saved.toArray(INDArray[]::new),
            g -> backward(g, at, blocks, k.value(), v.value(), scale, qs), q, k, v);
    }

    /** The sizes of one call: batch, heads, key/value heads, queries, keys, query/key width, value width. */
    private record Geometry(long b, long h, long hkv, long tq, long tk, long d, long dv) {
        /** Query heads per key/value head: their rows are stacked into one matrix per key/value head. */
        long rep() {
            return h / hkv;
        }

        /** The keys that the queries before position {@code to} of q see: up to the last one's position. */
        long keysSeenBy(long to) {
            return tk - tq + to;
        }
    }

    /**
     * One block of queries [from, to): its query matrix q [B, Hkv, rep·L, D] (L = to - from), its probabilities p
     * [B, Hkv, rep·L, keys] over the first {@code keys} keys, and its output [B, Hkv, rep·L, Dv].
     */
    private record Block(long from, long to, long keys, INDArray q, INDArray p, INDArray out) {
        long queries() {
            return to - from;
        }

        static Block forward(Geometry at, INDArray q, long from, long to, INDArray k, INDArray v, double scale,
                             INDArray padding, long[] firstKept) {
            long queries = to - from;
            long keys = at.keysSeenBy(to);
            INDArray s = product(q, k, scale, false, true);                    // scores [B, Hkv, rep·L, keys]
            if (padding == null && AttentionKernels.fit(s)) {
                AttentionKernels.causalSoftmaxInPlace(s, queries);
                return new Block(from, to, keys, q, s, product(s, v, 1, false, false));
            }
            if (queries > 1) {   // query i of the block sits at position keys - L + i
                s.reshape(at.b * at.h, queries * keys).addi(AttentionMasks.causalMask(queries, keys, q.dataType()));
            }
            if (padding != null) {
                INDArray seen = padding.get(NDArrayIndex.all(), NDArrayIndex.interval(0, keys)).dup('c');
                s.reshape(at.b, at.h * queries, keys).addi(seen.reshape(at.b, 1, keys));
                Memory.release(seen);
            }
            INDArray p = Softmax.lastDimInPlace(s);
            if (firstKept != null) {
                AttentionMasks.zeroBlindRows(p, firstKept, keys - queries, at.b, at.hkv, at.rep(), queries, keys);
            }
            return new Block(from, to, keys, q, p, product(p, v, 1, false, false));
        }
    }

    private static void backward(Grads g, Geometry at, Block[] blocks, INDArray k, INDArray v, double scale,
                                 long[] qs) {
        int n = blocks.length;
        INDArray dO5 = g.out().reshape('c', at.b, at.hkv, at.rep(), at.tq, at.dv);
        INDArray dq5 = n > 1 && g.needs(0) ? Nd4j.createUninitialized(g.out().dataType(), at.b, at.hkv, at.rep(), at.tq, at.d)
            : null;
        INDArray dk = null;
        INDArray dv = null;
        for (int c = n - 1; c >= 0; c--) {   // the last block sees every key: its dk and dv start the sums
            Block blk = blocks[c];
            long rows = at.rep() * blk.queries();
            INDArray dO = n == 1 ? dO5 : window(dO5, blk.from(), blk.to()).dup('c');
            dO = dO.reshape(at.b, at.hkv, rows, at.dv);
            if (g.needs(2)) {
                dv = sumOverBlocks(dv, product(blk.p(), dO, 1, true, false));
            }
            if (g.needs(0) || g.needs(1)) {
                INDArray ds = product(dO, keyPrefix(v, blk.keys()), 1, false, true);   // dP, then dS / scale in place
                scoreGrad(ds, blk, dO, at.b * at.hkv * rows);
                if (g.needs(0)) {
                    INDArray dq = product(ds, keyPrefix(k, blk.keys()), scale, false, false);
                    if (n == 1) {
                        g.add(0, dq.reshape(qs));
                    } else {
                        window(dq5, blk.from(), blk.to()).assign(dq.reshape(at.b, at.hkv, at.rep(), blk.queries(), at.d));
                        Memory.release(dq);
                    }
                }
                if (g.needs(1)) {
                    dk = sumOverBlocks(dk, product(ds, blk.q(), scale, true, false));
                }
                Memory.release(ds);
            }
            if (!Memory.sharesBuffer(dO, g.out())) {
                Memory.release(dO);   // a block's copy, or a contiguous copy of a strided gradient
            }
        }
        if (n > 1 && !Memory.sharesBuffer(dO5, g.out())) {
            Memory.release(dO5);
        }
        if (dq5 != null) {
            g.add(0, dq5.reshape(qs));
        }
        if (dk != null) {
            g.add(1, dk);
        }
        if (dv != null) {
            g.add(2, dv);
        }
    }

    /**
     * dP becomes dS / scale = P ⊙ (dP - rowsum(dP ⊙ P)) in place. rowsum(dP ⊙ P) = rowsum(dO ⊙ O) since O = P V
     * and dP = dO Vᵀ: a pass over [rows, Dv] instead of [rows, keys].
     */
    private static void scoreGrad(INDArray ds, Block blk, INDArray dO, long all) {
        if (AttentionKernels.fit(ds, blk.p(), dO, blk.out())) {
            AttentionKernels.scoreGradInPlace(ds, blk.p(), dO, blk.out());
            return;
        }
        INDArray dOxO = dO.mul(blk.out());
        INDArray dot = dOxO.sum(true, 3);
        Memory.release(dOxO);
        ds.reshape(all, blk.keys()).subi(dot.reshape(all, 1)).muli(blk.p().reshape(all, blk.keys()));
        Memory.release(dot);
    }

    /** sum (over every key) plus a block's part over a prefix of the keys; the first part seen is the sum. */
    private static INDArray sumOverBlocks(INDArray sum, INDArray part) {
        if (sum == null) {
            return part;
        }
        Shapes.addIntoWindow(keyPrefix(sum, part.size(2)), part, false);
        Memory.release(part);
        return sum;
    }

    /** The first {@code keys} rows along dim 2 of a [B, Hkv, Tk, D] array: a view, or the array itself. */
    private static INDArray keyPrefix(INDArray a, long keys) {
        return keys == a.size(2) ? a : a.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, keys),
            NDArrayIndex.all());
    }

    /** Positions [from, to) along dim 3 of a [B, Hkv, rep, Tq, D] array, as a view. */
    private static INDArray window(INDArray a, long from, long to) {
        return a.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(from, to),
            NDArrayIndex.all());
    }

    /** alpha · op(x) op(y) for batched [..., m, k] arrays, op a transpose where asked, as one fresh array. */
    private static INDArray product(INDArray x, INDArray y, double alpha, boolean tx, boolean ty) {
        long begin = GemmMeter.begin();
        INDArray c = NativeGemm.tryProduct(x, y, tx, ty, alpha);   // small float32 products, else BLAS
        if (c == null) {
            c = Nd4j.exec(new Mmul(x, y, alpha, 0.0, tx, ty, false))[0];
        }
        GemmMeter.end(begin, x.dataType(), c.length() / (c.size(2) * c.size(3)), c.size(2), c.size(3),
            tx ? x.size(2) : x.size(3), tx, ty);
        return c;
    }

    private static void check(long[] qs, long[] ks, long[] vs, Tensor keepMask, Tensor q, Tensor k, Tensor v) {
        String shapes = "q " + Arrays.toString(qs) + ", k " + Arrays.toString(ks) + ", v " + Arrays.toString(vs);
        if (qs.length != 4 || ks.length != 4 || vs.length != 4) {
            throw new IllegalArgumentException("Attention.causal: q, k and v must be [B, H, T, D] but are " + shapes);
        }
        if (ks[0] != qs[0] || vs[0] != qs[0] || ks[3] != qs[3] || vs[1] != ks[1] || vs[2] != ks[2]) {
            throw new IllegalArgumentException("Attention.causal: shapes do not fit, " + shapes + "; expected q [B, H, Tq, D],"
                + " k [B, Hkv, Tk, D], v [B, Hkv, Tk, Dv]");
        }
        if (ks[1] == 0 || qs[1] % ks[1] != 0) {
            throw new IllegalArgumentException("Attention.causal: query heads (" + qs[1] + ") must be a multiple of"
                + " key/value heads (" + ks[1] + "); " + shapes);
        }
        if (qs[2] > ks[2]) {
            throw new IllegalArgumentException("Attention.causal: q has more tokens (" + qs[2] + ") than k (" + ks[2]
                + "); the queries must be the last Tq of the Tk positions; " + shapes);
        }
        if (k.dtype() != q.dtype() || v.dtype() != q.dtype()) {
            throw new IllegalArgumentException("Attention.causal: dtypes differ: q " + q.dtype() + ", k " + k.dtype()
                + ", v " + v.dtype());
        }
        if (keepMask != null && (keepMask.dtype() != DataType.BOOL
            || !Arrays.equals(keepMask.shape(), new long[] {qs[0], ks[2]}))) {
            throw new IllegalArgumentException("Attention.causal: keepMask must be BOOL [B, Tk] = [" + qs[0] + ", "
                + ks[2] + "] but is " + keepMask.dtype() + " " + Arrays.toString(keepMask.shape()));
        }
    }
}
