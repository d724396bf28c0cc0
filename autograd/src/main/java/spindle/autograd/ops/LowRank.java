// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.Memory;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;

/**
 * A linear map with a low-rank update as one op, the forward of a LoRA layer. Written with {@code linear},
 * {@code mulScalar} and {@code add} the same sum keeps three more [rows, out] arrays on the tape (the base
 * product, the update and its scaled copy) until the graph is released; this op keeps only the [rows, r] product
 * its backward reads.
 */
public final class LowRank {
    private LowRank() {}

    /**
     * {@code y = x·Wᵀ + bias + s·(x'·Aᵀ)·Bᵀ} for x and x' [..., in] (x' is the dropped-out x, or x itself), weight
     * W [out, in], bias [out] or null, A [r, in] and B [out, r]. Backward, with u = s·x'·Aᵀ and h = s·g·B:
     * d/dx = g·W, d/dx' = h·A, d/dW = gᵀ·x, d/dA = hᵀ·x', d/dB = gᵀ·u, d/dbias = g summed over rows; each only
     * for an input that needs it (a frozen W costs no gradient product).
     */
    public static Tensor linear(Tensor x, Tensor dropped, Tensor weight, Tensor bias, Tensor a, Tensor b, double scale) {
        long[] xs = x.shape();
        long[] ws = weight.shape();
        long[] as = a.shape();
        long[] bs = b.shape();
        checkShapes(xs, dropped.shape(), ws, bias == null ? null : bias.shape(), as, bs);
        for (Tensor t : bias == null ? new Tensor[] {dropped, a, b} : new Tensor[] {dropped, a, b, bias}) {
            Linalg.sameDtype("low-rank linear", x, t);
        }
        Widening.check("low-rank linear", weight, x.dtype());   // a frozen bf16 weight is widened per product
        long in = ws[1];
        long out = ws[0];
        long rank = as[0];
        long rows = x.value().length() / in;
        long[] ys = xs.clone();
        ys[ys.length - 1] = out;
        INDArray w = Widening.value(weight, x.dtype());
        INDArray y = Linalg.gemm(x.value().reshape(rows, in), w, false, true, ys);
        Widening.release(w, weight);
        INDArray y2 = y.reshape(rows, out);
        if (bias != null) {
            y2.addi(bias.value());
        }
        INDArray u = Linalg.gemm(dropped.value().reshape(rows, in), a.value(), false, true, new long[] {rows, rank})
            .muli(scale);
        Linalg.meteredGemm(u, b.value(), y2, false, true, 1.0);
        Tensor[] inputs = bias == null ? new Tensor[] {x, dropped, weight, a, b} : new Tensor[] {x, dropped, weight, a, b, bias};
        return Tape.record("low_rank_linear", y, new INDArray[] {u}, g -> {
            INDArray g2 = g.out().reshape(rows, out);
            if (g.needs(0)) {
                INDArray wb = Widening.value(weight, x.dtype());
                g.add(0, Linalg.gemm(g2, wb, false, false, xs));
                Widening.release(wb, weight);
            }
            if (g.needs(1) || g.needs(3)) {
                INDArray h = Linalg.gemm(g2, b.value(), false, false, new long[] {rows, rank}).muli(scale);
                if (g.needs(3)) {
                    g.addInPlace(3, (grad, zeros) -> Linalg.addProduct(h, dropped.value().reshape(rows, in), grad, as));
                }
                if (g.needs(1)) {
                    g.add(1, Linalg.gemm(h, a.value(), false, false, xs));
                }
                Memory.release(h);
            }
            if (g.needs(2)) {
                g.addInPlace(2, (grad, zeros) -> Linalg.addProduct(g2, x.value().reshape(rows, in), grad, ws));
            }
            if (g.needs(4)) {
                g.addInPlace(4, (grad, zeros) -> Linalg.addProduct(g2, u, grad, bs));
            }
            if (bias != null && g.needs(5)) {
                g.add(5, g2.sum(0));
            }
        }, inputs);
    }

    private static void checkShapes(long[] xs, long[] ds, long[] ws, long[] biasShape, long[] as, long[] bs) {
        boolean ok = ws.length == 2 && as.length == 2 && bs.length == 2 && xs.length > 0
            && xs[xs.length - 1] == ws[1] && Arrays.equals(xs, ds) && as[1] == ws[1] && bs[0] == ws[0] && bs[1] == as[0]
            && (biasShape == null || Arrays.equals(biasShape, new long[] {ws[0]}));
        if (!ok) {
            throw new IllegalArgumentException("low-rank linear: x " + Arrays.toString(xs) + ", dropped x "
                + Arrays.toString(ds) + ", weight " + Arrays.toString(ws) + ", bias "
                + (biasShape == null ? "none" : Arrays.toString(biasShape)) + ", A " + Arrays.toString(as) + ", B "
                + Arrays.toString(bs) + "; need weight [out, in], A [r, in], B [out, r], bias [out], x and dropped x"
                + " [..., in] of one shape");
        }
    }
}
