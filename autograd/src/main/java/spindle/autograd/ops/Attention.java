// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.autograd.Memory;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;

/**
 * Causal scaled dot-product attention as one fused node, for multi-head, grouped-query and multi-query
 * attention. The query heads that share a key/value head are stacked as extra rows of one matrix, so K and V
 * are never repeated: q [B, H, Tq, D] is viewed as [B, Hkv, (H/Hkv)·Tq, D] and each product is one batched gemm.
 */
public final class Attention {
    private static final Map<String, INDArray> MASKS = new ConcurrentHashMap<>();   // causal masks by shape

    private Attention() {}

    /**
     * softmax(q kᵀ · scale + mask) v, as torch's scaled_dot_product_attention with is_causal and a key padding
     * mask, with k and v repeat-interleaved to H heads (query head h reads key/value head h / (H/Hkv)).
     *
     * <p>Shapes: q [B, H, Tq, D], k [B, Hkv, Tk, D], v [B, Hkv, Tk, Dv] → [B, H, Tq, Dv]; Tq ≤ Tk and query i
     * sits at position Tk - Tq + i (the new tokens of a decode step come last), seeing keys 0 .. that position.
     * {@code keepMask} is null or BOOL [B, Tk], false at padding keys. A query row that can see no key at all
     * (a left-padding position) gets output 0 and gradient 0, not NaN.
     *
     * <p>Backward: with P the probabilities and dP = dO vᵀ, dS = P ⊙ (dP - rowsum(dO ⊙ O)) · scale;
     * dq = dS k, dk = dSᵀ q, dv = Pᵀ dO, the last two summed over the query heads of a group by the gemm.
     * The scale rides on the gemms (their alpha), so the [rows, Tk] arrays are passed over as few times as possible.
     */
    public static Tensor causal(Tensor q, Tensor k, Tensor v, double scale, Tensor keepMask) {
        long[] qs = q.shape();
        check(qs, k.shape(), v.shape(), keepMask, q, k, v);
        long b = qs[0];
        long h = qs[1];
        long tq = qs[2];
        long d = qs[3];
        long hkv = k.size(1);
        long tk = k.size(2);
        long dv = v.size(3);
        long rows = h / hkv * tq;   // query rows per key/value head
        INDArray qg = q.value().reshape('c', b, hkv, rows, d);
        INDArray s = product(qg, k.value(), scale, false, true);            // scores [B, Hkv, rows, Tk]
        if (tq > 1) {
            s.reshape(b * h, tq * tk).addi(causalMask(tq, tk, q.dtype()));
        }
        long[] hidden = keepMask == null ? null : paddingMask(keepMask.value(), s, b, rows * hkv, tk);
        INDArray p = Softmax.lastDimInPlace(s);
        if (hidden != null) {
            zeroBlindRows(p, hidden, tk - tq, b, hkv, h / hkv, tq, tk);
        }
        INDArray out = product(p, v.value(), 1, false, false);              // [B, Hkv, rows, Dv]
        INDArray[] saved = Memory.sharesBuffer(qg, q.value()) ? new INDArray[] {p, out} : new INDArray[] {p, out, qg};
        return Tape.record("causal_attention", out.reshape(b, h, tq, dv), saved, g -> {
            INDArray dO = g.out().reshape('c', b, hkv, rows, dv);
            if (g.needs(2)) {
                g.add(2, product(p, dO, 1, true, false));
            }
            if (g.needs(0) || g.needs(1)) {
                // rowsum(dP ⊙ P) = rowsum(dO ⊙ O) since O = P V and dP = dO Vᵀ:
                // a pass over [rows, Dv] instead of [rows, Tk]
                INDArray dOxO = dO.mul(out);
                INDArray dot = dOxO.sum(true, 3);
                Memory.release(dOxO);
                INDArray ds = product(dO, v.value(), 1, false, true);       // dP, then dS / scale in place
                long n = b * hkv * rows;
                ds.reshape(n, tk).subi(dot.reshape(n, 1)).muli(p.reshape(n, tk));
                Memory.release(dot);
                if (g.needs(0)) {
                    g.add(0, product(ds, k.value(), scale, false, false).reshape(qs));
                }
                if (g.needs(1)) {
                    g.add(1, product(ds, qg, scale, true, false));
                }
                Memory.release(ds);
            }
            if (!Memory.sharesBuffer(dO, g.out())) {
                Memory.release(dO);   // a contiguous copy of a strided gradient
            }
        }, q, k, v);
    }

    /** alpha · op(x) op(y) for batched [..., m, k] arrays, op a transpose where asked, as one fresh array. */
    private static INDArray product(INDArray x, INDArray y, double alpha, boolean tx, boolean ty) {
        return Nd4j.exec(new Mmul(x, y, alpha, 0.0, tx, ty, false))[0];
    }

    /**
     * Additive [Tq·Tk] row: 0 where key j ≤ Tk - Tq + i, -inf after it. Kept for the next layer and step (each
     * call would otherwise build it again); only read, so threads share it. A few shapes at a time are kept.
     */
    private static INDArray causalMask(long tq, long tk, DataType dtype) {
        String key = tq + "x" + tk + " " + dtype;
        INDArray cached = MASKS.get(key);
        if (cached != null) {
            return cached;
        }
        if (MASKS.size() >= 8) {
            MASKS.clear();   // the arrays go with the garbage collector: another thread may still read one
        }
        INDArray mask = buildCausalMask(tq, tk, dtype);
        MASKS.put(key, mask);
        return mask;
    }

    private static INDArray buildCausalMask(long tq, long tk, DataType dtype) {
        double[] m = new double[(int) (tq * tk)];
        for (int i = 0; i < tq; i++) {
            Arrays.fill(m, (int) (i * tk + tk - tq + i + 1), (int) ((i + 1) * tk), Double.NEGATIVE_INFINITY);
        }
        return Nd4j.create(m, new long[] {1, tq * tk}, dtype);
    }

    /**
     * Adds -inf at padding keys to the scores, viewed as [B, Hkv·rows, Tk]; returns, per sequence, the first
     * kept key (Tk when none): queries before it see nothing.
     */
    private static long[] paddingMask(INDArray keep, INDArray s, long b, long rowsPerBatch, long tk) {
        double[] add = new double[(int) (b * tk)];
        long[] firstKept = new long[(int) b];
        boolean any = false;
        for (int i = 0; i < b; i++) {
            firstKept[i] = tk;
            for (int j = 0; j < tk; j++) {
                boolean kept = keep.getDouble(i, j) != 0;
                add[(int) (i * tk + j)] = kept ? 0 : Double.NEGATIVE_INFINITY;
                any |= !kept;
                if (kept && firstKept[i] == tk) {
                    firstKept[i] = j;
                }
            }
        }
        if (any) {
            INDArray m = Nd4j.create(add, new long[] {b, tk}, s.dataType());
            INDArray s3 = s.reshape(b, rowsPerBatch, tk);
            s3.addi(m.reshape(b, 1, tk));
            Memory.release(m);
        }
        return firstKept;
    }

    /** Sets to 0 the probability rows (NaN from an all -inf row) of queries at positions before the first kept key. */
    private static void zeroBlindRows(INDArray p, long[] firstKept, long offset, long b, long hkv, long rep, long tq,
                                      long tk) {
        INDArray p5 = p.reshape(b, hkv, rep, tq, tk);
        for (int i = 0; i < b; i++) {
            long blind = Math.min(tq, Math.max(0, firstKept[i] - offset));   // query i sees keys ≤ offset + i
            if (blind > 0) {
                p5.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, blind),
                    NDArrayIndex.all()).assign(0);
            }
        }
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
