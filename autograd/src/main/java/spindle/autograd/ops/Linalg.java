// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Broadcasting;
import spindle.autograd.Memory;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.NativeGemm;

/**
 * Matrix products as {@code torch.matmul} and the fused {@code linear} of every Linear layer. Transposes
 * are passed to BLAS as flags rather than materialized.
 */
public final class Linalg {
    private Linalg() {}

    /**
     * a · b with torch.matmul's rules: [m,k]·[k,n] → [m,n]; a 1-D a is a row [1,k] and a 1-D b a column
     * [k,1], the added dim removed from the result (vector · vector is a rank-0 dot product); higher ranks
     * are batches of matrices whose batch dims broadcast, e.g. [2,1,3,4]·[5,4,6] → [2,5,3,6].
     * d/da = g·bᵀ, d/db = aᵀ·g, summed over broadcast batch dims.
     */
    public static Tensor matmul(Tensor a, Tensor b) {
        sameDtype("matmul", a, b);
        long[] as = a.shape();
        long[] bs = b.shape();
        if (as.length == 0 || bs.length == 0) {
            throw new IllegalArgumentException("matmul: a has shape " + Arrays.toString(as) + " and b has shape "
                + Arrays.toString(bs) + "; both need rank >= 1 (use Elementwise.mul for scalars)");
        }
        long[] ap = as.length == 1 ? new long[] {1, as[0]} : as;
        long[] bp = bs.length == 1 ? new long[] {bs[0], 1} : bs;
        long k = ap[ap.length - 1];
        if (k != bp[bp.length - 2]) {
            throw new IllegalArgumentException("matmul: a has shape " + Arrays.toString(as) + " and b has shape "
                + Arrays.toString(bs) + "; a's last dim (" + k + ") must equal b's "
                + (bs.length == 1 ? "only" : "second-to-last") + " dim (" + bp[bp.length - 2] + ")");
        }
        long[] batch = batchShape(as, bs, prefix(ap), prefix(bp));
        long[] outShape = concat(batch, as.length > 1 ? new long[] {ap[ap.length - 2]} : new long[0],
            bs.length > 1 ? new long[] {bp[bp.length - 1]} : new long[0]);
        return bp.length == 2 ? folded(a, b, k, bp[1], outShape) : batched(a, b, ap, bp, batch, outShape);
    }

    /**
     * x·Wᵀ + b for x [..., in], weight [out, in] and bias [out] or null: one gemm forward (x's leading dims
     * folded into rows), two backward, d/dbias = g summed over rows. A frozen 16-bit weight with a float32 x is
     * widened for each gemm ({@link Widening}).
     */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        long[] ws = weight.shape();
        long[] xs = x.shape();
        if (ws.length != 2 || xs.length == 0 || xs[xs.length - 1] != ws[1]) {
            throw new IllegalArgumentException("linear: x has shape " + Arrays.toString(xs) + " and weight has shape "
                + Arrays.toString(ws) + "; weight must be [out, in] with in equal to x's last dim");
        }
        Widening.check("linear", weight, x.dtype());   // a frozen bf16 weight is widened per product
        if (bias != null) {
            sameDtype("linear", x, bias);
            if (!Arrays.equals(bias.shape(), new long[] {ws[0]})) {
                throw new IllegalArgumentException("linear: bias has shape " + Arrays.toString(bias.shape())
                    + " but weight has shape " + Arrays.toString(ws) + "; bias must be [" + ws[0] + "]");
            }
        }
        long in = ws[1];
        long out = ws[0];
        long rows = x.value().length() / in;
        long[] ys = xs.clone();
        ys[ys.length - 1] = out;
        INDArray w = Widening.value(weight, x.dtype());
        INDArray y = gemm(x.value().reshape(rows, in), w, false, true, ys);
        Widening.release(w, weight);
        if (bias != null) {
            y.reshape(rows, out).addi(bias.value());
        }
        Tensor[] inputs = bias == null ? new Tensor[] {x, weight} : new Tensor[] {x, weight, bias};
        return Tape.record("linear", y, g -> {
            INDArray g2 = g.out().reshape(rows, out);
            if (g.needs(0)) {   // x often feeds several projections (q, k, v): the later ones' gemms add into its gradient
                INDArray wb = Widening.value(weight, x.dtype());
                g.addInPlace(0, (grad, zeros) -> addProduct(g2, wb, grad, false, zeros, xs));
                Widening.release(wb, weight);
            }
            if (g.needs(1)) {   // the gemm adds gᵀx straight into the weight's gradient (beta 1) where BLAS can
                g.addInPlace(1, (grad, zeros) -> addProduct(g2, x.value().reshape(rows, in), grad, true, false, ws));
            }
            if (bias != null && g.needs(2)) {
                g.add(2, g2.sum(0));
            }
        }, inputs);
    }

    /** b is a matrix: a's leading dims fold into the rows of one gemm, which also sums b's gradient over them. */
    private static Tensor folded(Tensor a, Tensor b, long k, long n, long[] outShape) {
        long rows = a.value().length() / k;
        long[] as = a.shape();
        long[] bs = b.shape();
        INDArray out = gemm(a.value().reshape(rows, k), b.value().reshape(k, n), false, false, outShape);
        return Tape.record("matmul", out, g -> {
            INDArray g2 = g.out().reshape(rows, n);
            if (g.needs(0)) {
                g.add(0, gemm(g2, b.value().reshape(k, n), false, true, as));
            }
            if (g.needs(1)) {
                g.add(1, gemm(a.value().reshape(rows, k), g2, true, false, bs));
            }
        }, a, b);
    }

    /** Batched product; operands are copied to the common batch shape only where their batch dims broadcast. */
    private static Tensor batched(Tensor a, Tensor b, long[] ap, long[] bp, long[] batch, long[] outShape) {
        long m = ap[ap.length - 2];
        long k = ap[ap.length - 1];
        long n = bp[bp.length - 1];
        INDArray ae = Broadcasting.expand(a.value().reshape(ap), concat(batch, new long[] {m, k}));
        INDArray be = Broadcasting.expand(b.value().reshape(bp), concat(batch, new long[] {k, n}));
        long[] full = concat(batch, new long[] {m, n});
        INDArray out = Nd4j.createUninitialized(a.dtype(), outShape);
        meteredMatmul(ae, be, out.reshape(full), false, false);
        INDArray[] copies = Arrays.stream(new INDArray[] {ae, be})
            .filter(e -> !Memory.sharesBuffer(e, a.value()) && !Memory.sharesBuffer(e, b.value()))
            .toArray(INDArray[]::new);
        long[] bs = b.shape();
        return Tape.record("matmul", out, copies, g -> {
            INDArray g3 = g.out().reshape(full);
            if (g.needs(0)) {
                g.add(0, meteredMatmul(g3, be, null, false, true));   // [batch, m, k], summed to a's shape by add
            }
            if (g.needs(1)) {
                INDArray gb = meteredMatmul(ae, g3, null, true, false);   // [batch, k, n]
                // a 1-D b was the column [k, 1]: drop that 1 so add can sum the batch dims down to [k]
                g.add(1, bs.length == 1 ? gb.reshape(concat(batch, new long[] {k})) : gb);
            }
        }, a, b);
    }

    private static long[] batchShape(long[] as, long[] bs, long[] aBatch, long[] bBatch) {
        try {
            return Broadcasting.shape(aBatch, bBatch, "matmul");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("matmul: a has shape " + Arrays.toString(as) + " and b has shape "
                + Arrays.toString(bs) + "; their batch dims " + Arrays.toString(aBatch) + " and "
                + Arrays.toString(bBatch) + " do not broadcast", e);
        }
    }

    /** into += aᵀ·b; BLAS writes only a dense row-major array, so a strided gradient gets the sum added instead. */
    static void addProduct(INDArray a, INDArray b, INDArray into, long[] shape) {
        addProduct(a, b, into, true, false, shape);
    }

    /**
     * into += op(a)·b (op a transpose when {@code ta}), or = when {@code zeros}; BLAS writes only a dense row-major
     * array, so a strided gradient gets the sum added instead.
     */
    static void addProduct(INDArray a, INDArray b, INDArray into, boolean ta, boolean zeros, long[] shape) {
        if (into.ordering() == 'c' && into.elementWiseStride() == 1 && into.offset() == 0) {
            long rows = ta ? a.size(1) : a.size(0);
            meteredGemm(a, b, into.reshape(rows, b.size(1)), ta, false, zeros ? 0.0 : 1.0);
        } else {
            INDArray product = gemm(a, b, ta, false, shape);
            into.addi(product);
            Memory.release(product);
        }
    }

    /** A fresh array of {@code shape} holding op(x)·op(y), op a transpose where asked; BLAS writes it in place. */
    static INDArray gemm(INDArray x, INDArray y, boolean tx, boolean ty, long[] shape) {
        INDArray out = Nd4j.createUninitialized(x.dataType(), shape);
        long rows = tx ? x.size(1) : x.size(0);
        long cols = ty ? y.size(0) : y.size(1);
        meteredGemm(x, y, out.reshape(rows, cols), tx, ty, 0.0);
        return out;
    }

    /**
     * c = op(x)·op(y) + beta·c, natively for a small float32 product ({@link NativeGemm}) else through BLAS, recorded
     * by {@link GemmMeter} when it is on.
     */
    static void meteredGemm(INDArray x, INDArray y, INDArray c, boolean tx, boolean ty, double beta) {
        long begin = GemmMeter.begin();
        if (!NativeGemm.tryGemm(x, y, c, tx, ty, 1.0, beta)) {
            Nd4j.gemm(x, y, c, tx, ty, 1.0, beta);
        }
        GemmMeter.end(begin, x.dataType(), 1, c.size(0), c.size(1), tx ? x.size(0) : x.size(1), tx, ty);
    }

    /** A batched op(x)·op(y) of [..., m, k] arrays into {@code out} (a fresh array when null), recorded by {@link GemmMeter}. */
    private static INDArray meteredMatmul(INDArray x, INDArray y, INDArray out, boolean tx, boolean ty) {
        long begin = GemmMeter.begin();
        INDArray c = out == null ? NativeGemm.tryProduct(x, y, tx, ty, 1.0)
            : NativeGemm.tryGemm(x, y, out, tx, ty, 1.0, 0.0) ? out : null;
        if (c == null) {   // float64, or too large for the native gemm
            c = Nd4j.matmul(x, y, out, tx, ty, false);
        }
        int r = c.rank();
        GemmMeter.end(begin, x.dataType(), c.length() / (c.size(r - 2) * c.size(r - 1)), c.size(r - 2), c.size(r - 1),
            tx ? x.size(r - 2) : x.size(r - 1), tx, ty);
        return c;
    }

    static void sameDtype(String op, Tensor a, Tensor b) {
        DataType ta = a.dtype();
        if (ta != b.dtype()) {
            throw new IllegalArgumentException(op + ": dtypes differ (" + ta + " and " + b.dtype()
                + "); cast one with Tensors.cast first");
        }
    }

    private static long[] prefix(long[] shape) {
        return Arrays.copyOf(shape, shape.length - 2);
    }

    private static long[] concat(long[]... parts) {
        return Arrays.stream(parts).flatMapToLong(Arrays::stream).toArray();
    }
}
