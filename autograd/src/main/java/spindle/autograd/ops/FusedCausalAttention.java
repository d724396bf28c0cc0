// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.Grads;
import spindle.autograd.Memory;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.FusedAttention;
import spindle.autograd.kernels.NativeKernels;

/**
 * {@link Attention#causal} as one native call forward and one backward ({@link FusedAttention}), for float32
 * without padding keys in one query block: the output, the probabilities it keeps and the three gradients are the
 * only arrays it makes. The same values as the blocked path up to the rounding of its products.
 */
final class FusedCausalAttention {
    private FusedCausalAttention() {}

    /** True when {@link #causal} takes these inputs. */
    static boolean fits(Tensor q, Tensor k, Tensor v) {
        return q.dtype() == DataType.FLOAT && FusedAttention.fits(q.value(), k.value(), v.value());
    }

    static Tensor causal(Tensor q, Tensor k, Tensor v, double scale) {
        long begin = GemmMeter.begin();
        INDArray[] outAndP = FusedAttention.forward(q.value(), k.value(), v.value(), scale);
        meter(begin, q.value(), k.value(), v.value());
        INDArray out = outAndP[0];
        INDArray p = outAndP[1];
        return Tape.record("causal_attention", out, new INDArray[] {out, p},
            g -> backward(g, q.value(), k.value(), v.value(), out, p, scale), q, k, v);
    }

    private static void backward(Grads g, INDArray q, INDArray k, INDArray v, INDArray out, INDArray p,
                                 double scale) {
        INDArray dO = NativeKernels.stridedFloats(g.out()) ? g.out() : g.out().dup('c');
        long begin = GemmMeter.begin();
        INDArray[] d = FusedAttention.backward(q, k, v, out, dO, p, scale);
        meterBackward(begin, q, k, v);
        if (dO != g.out()) {
            Memory.release(dO);
        }
        for (int i = 0; i < 3; i++) {
            if (g.needs(i)) {
                g.add(i, d[i]);
            } else {
                Memory.release(d[i]);
            }
        }
    }

    /**
     * The forward's two products per group for the bench's GEMM count: scores, then probabilities times v, over
     * the keys a query sees on average (the kernel skips the others).
     */
    private static void meter(long begin, INDArray q, INDArray k, INDArray v) {
        long groups = k.size(0) * k.size(1);
        long rows = q.size(1) / k.size(1) * q.size(2);
        long keys = seenKeys(q, k);
        GemmMeter.end(begin, DataType.FLOAT, groups, rows, keys, q.size(3), false, true);
        GemmMeter.end(GemmMeter.begin(), DataType.FLOAT, groups, rows, v.size(3), keys, false, false);
    }

    /** The backward's four products per group: dv = Pᵀ dO, dP = dO vᵀ, dq = dS k, dk = dSᵀ q. */
    private static void meterBackward(long begin, INDArray q, INDArray k, INDArray v) {
        long groups = k.size(0) * k.size(1);
        long rows = q.size(1) / k.size(1) * q.size(2);
        long keys = seenKeys(q, k);
        GemmMeter.end(begin, DataType.FLOAT, groups, keys, v.size(3), rows, true, false);
        GemmMeter.end(GemmMeter.begin(), DataType.FLOAT, groups, rows, keys, v.size(3), false, true);
        GemmMeter.end(GemmMeter.begin(), DataType.FLOAT, groups, rows, q.size(3), keys, false, false);
        GemmMeter.end(GemmMeter.begin(), DataType.FLOAT, groups, keys, q.size(3), rows, true, false);
    }

    /** The keys a query sees, averaged over the queries: query i sees Tk - Tq + i + 1 of them. */
    private static long seenKeys(INDArray q, INDArray k) {
        long tq = q.size(2);
        return Math.max(1, Math.round(k.size(2) - tq + (tq + 1) / 2.0));
    }
}
