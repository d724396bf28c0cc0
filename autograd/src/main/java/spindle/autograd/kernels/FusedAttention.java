// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Causal attention's whole forward and whole backward, one native call each (attention_fused.c), on float32
 * q [B, H, Tq, D], k [B, Hkv, Tk, D], v [B, Hkv, Tk, Dv] at any non-negative strides (the heads' transposed views
 * are read in place): the query heads of a group read their shared key/value head directly, and the results are
 * written straight into fresh arrays, so a step makes a handful of arrays instead of dozens of ops. Query i sits
 * at position Tk - Tq + i and sees keys 0 .. that position; the softmax and dS steps are {@link AttentionKernels}'.
 * Every product element is an fma chain over the contraction index from 0, times alpha rounded once, as
 * {@link NativeGemm}'s; the twin in the tests computes the same way and gives the same bits.
 */
public final class FusedAttention {
    /** -Dspindle.attention.fused=false sends attention to the blocked path (products and kernels one by one). */
    private static final boolean WANTED = !"false".equals(System.getProperty("spindle.attention.fused"));

    private FusedAttention() {}

    /**
     * True when the native library and its gemm are on (the products use the CPU's fused multiply-add, which
     * {@link NativeGemm} checks; switching the native gemm off also puts attention's products back on BLAS) and
     * q, k, v are float32 views of non-zero sizes it can read.
     */
    public static boolean fits(INDArray q, INDArray k, INDArray v) {
        if (!WANTED || !NativeKernels.enabled() || !NativeGemm.enabled()) {
            return false;
        }
        for (INDArray a : new INDArray[] {q, k, v}) {
            if (a.rank() != 4 || !NativeKernels.stridedFloats(a) || a.length() == 0 || a.size(2) > Integer.MAX_VALUE
                || a.size(3) > Integer.MAX_VALUE) {
                return false;
            }
        }
        return true;
    }

    /**
     * {out [B, H, Tq, Dv], P [B, H, Tq, Tk]}, both fresh: out laid out as v is ({@link #freshInLayoutOf}), P dense
     * (what {@link #backward} reads).
     */
    public static INDArray[] forward(INDArray q, INDArray k, INDArray v, double scale) {
        long[] sizes = sizes(q, k, v);
        INDArray out = freshInLayoutOf(v, sizes[0], sizes[1], sizes[3], sizes[6]);
        INDArray p = Nd4j.createUninitialized(DataType.FLOAT, sizes[0], sizes[1], sizes[3], sizes[4]);
        long[] geometry = geometry(sizes, q, k, v, out);
        if (forward(geometry, NativeKernels.address(q), NativeKernels.address(k), NativeKernels.address(v),
            NativeKernels.address(out), NativeKernels.address(p), (float) scale) != 0) {
            throw new OutOfMemoryError("fused attention forward: no room for scratch, sizes " + Arrays.toString(sizes));
        }
        return new INDArray[] {out, p};
    }

    /**
     * {dq, dk, dv}, fresh in q's, k's and v's shapes and layouts ({@link #freshInLayoutOf}), from the forward's output o, its gradient dO
     * ([B, H, Tq, Dv], float32 views {@link NativeKernels#stridedFloats} accepts) and P.
     */
    public static INDArray[] backward(INDArray q, INDArray k, INDArray v, INDArray o, INDArray dO, INDArray p,
                                      double scale) {
        long[] sizes = sizes(q, k, v);
        long[] outShape = {sizes[0], sizes[1], sizes[3], sizes[6]};
        long[] pShape = {sizes[0], sizes[1], sizes[3], sizes[4]};
        for (INDArray a : new INDArray[] {o, dO}) {
            if (!Arrays.equals(a.shape(), outShape) || !NativeKernels.stridedFloats(a)) {
                throw new IllegalArgumentException("fused attention backward: O and dO must be float32 "
                    + Arrays.toString(outShape) + " but one is " + a.dataType() + " " + Arrays.toString(a.shape()));
            }
        }
        if (!Arrays.equals(p.shape(), pShape) || !NativeKernels.denseFloats(p)) {
            throw new IllegalArgumentException("fused attention backward: P must be dense float32 "
                + Arrays.toString(pShape) + " but is " + p.dataType() + " " + Arrays.toString(p.shape()));
        }
        INDArray dq = freshInLayoutOf(q, q.shape());
        INDArray dk = freshInLayoutOf(k, k.shape());
        INDArray dv = freshInLayoutOf(v, v.shape());
        long[] geometry = geometry(sizes, q, k, v, o, dO, dq, dk, dv);
        if (backward(geometry, NativeKernels.address(q), NativeKernels.address(k), NativeKernels.address(v),
            NativeKernels.address(o), NativeKernels.address(dO), NativeKernels.address(p), NativeKernels.address(dq),
            NativeKernels.address(dk), NativeKernels.address(dv), (float) scale) != 0) {
            throw new OutOfMemoryError("fused attention backward: no room for scratch, sizes " + Arrays.toString(sizes));
        }
        return new INDArray[] {dq, dk, dv};
    }

    /** B, H, Hkv, Tq, Tk, D, Dv, after checking that q, k, v fit each other and the kernel. */
    static long[] sizes(INDArray q, INDArray k, INDArray v) {
        if (!fits(q, k, v)) {
            throw new IllegalArgumentException("fused attention: q, k, v must be float32 [B, H, T, D] views with the"
                + " native library on; q " + q.dataType() + " " + Arrays.toString(q.shape()) + ", k "
                + Arrays.toString(k.shape()) + ", v " + Arrays.toString(v.shape()));
        }
        long[] s = {q.size(0), q.size(1), k.size(1), q.size(2), k.size(2), q.size(3), v.size(3)};
        if (k.size(0) != s[0] || v.size(0) != s[0] || k.size(3) != s[5] || v.size(1) != s[2] || v.size(2) != s[4]
            || s[1] % s[2] != 0 || s[3] > s[4] || k.dataType() != DataType.FLOAT || v.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("fused attention: expected q [B, H, Tq, D], k [B, Hkv, Tk, D], v [B,"
                + " Hkv, Tk, Dv] with Hkv dividing H and Tq <= Tk; q " + Arrays.toString(q.shape()) + ", k "
                + Arrays.toString(k.shape()) + ", v " + Arrays.toString(v.shape()));
        }
        return s;
    }

    /**
     * A fresh float32 array of this shape whose dims lie in memory in the order of {@code like}'s strides (largest
     * first): for the heads' transposed views, a permuted view of a dense [B, T, H, D] array, which the layers'
     * transpose and reshape back to [B, T, H·D] then take without a copy, forward and backward.
     */
    static INDArray freshInLayoutOf(INDArray like, long... shape) {
        Integer[] order = {0, 1, 2, 3};
        Arrays.sort(order, (x, y) -> x.equals(y) ? 0 : outer(like, x, y) ? -1 : 1);
        long[] stored = new long[4];
        int[] back = new int[4];
        for (int i = 0; i < 4; i++) {
            stored[i] = shape[order[i]];
            back[order[i]] = i;
        }
        INDArray a = Nd4j.createUninitialized(DataType.FLOAT, stored);
        return Arrays.equals(back, new int[] {0, 1, 2, 3}) ? a : a.permute(back);
    }

    /** True when dim x lies outside dim y: dims of size 1 first (their stride means nothing), then larger strides. */
    private static boolean outer(INDArray like, int x, int y) {
        long sx = like.size(x) == 1 ? Long.MAX_VALUE : like.stride(x);
        long sy = like.size(y) == 1 ? Long.MAX_VALUE : like.stride(y);
        return sx != sy ? sx > sy : x < y;
    }

    /** The sizes, then each array's four strides. */
    private static long[] geometry(long[] sizes, INDArray... arrays) {
        long[] g = Arrays.copyOf(sizes, sizes.length + 4 * arrays.length);
        for (int a = 0; a < arrays.length; a++) {
            for (int d = 0; d < 4; d++) {
                g[sizes.length + 4 * a + d] = arrays[a].stride(d);
            }
        }
        return g;
    }

    private static native int forward(long[] geometry, long q, long k, long v, long out, long p, float scale);

    private static native int backward(long[] geometry, long q, long k, long v, long o, long dO, long p, long dq,
                                       long dk, long dv, float scale);
}
