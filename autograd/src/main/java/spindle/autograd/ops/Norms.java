// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import spindle.autograd.Memory;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.Dense;
import spindle.autograd.kernels.NativeKernels;
import spindle.autograd.kernels.NativeNorm;
import spindle.autograd.kernels.NativeStrided;
import spindle.autograd.kernels.NormKernels;
import spindle.autograd.kernels.SmallKernels;

/**
 * Normalisations over the last dim, each one fused node with a hand-written backward: RMSNorm (Llama) and
 * LayerNorm (torch.nn.LayerNorm). x [..., D] is handled as rows [R, D]; only the per-row statistics
 * ([R, 1]) are saved, the normalised x̂ is recomputed in the backward.
 */
public final class Norms {
    private Norms() {}

    /**
     * y = x * rsqrt(mean(x², last dim) + eps) * weight, x [..., D], weight [D]. With r the rsqrt and
     * x̂ = x r: d/dweight = Σ_rows g x̂, d/dx = r (g w - x̂ mean(g w x̂, last dim)).
     */
    public static Tensor rmsNorm(Tensor x, Tensor weight, double eps) {
        if (weight == null) {
            throw new IllegalArgumentException("rmsNorm: weight must not be null (x has shape "
                + Arrays.toString(x.shape()) + ")");
        }
        long d = lastDim("rmsNorm", x, weight, null, eps);
        if (NativeNorm.fits(x.value(), weight.value())
            || NativeNorm.fits(weight.value()) && NativeStrided.readable(x.value())) {   // MLA's c_kv: rows apart
            return nativeRmsNorm(x, weight, eps, d);
        }
        if (SmallKernels.fit(x.value(), weight.value())) {
            return smallRmsNorm(x, weight, eps, (int) d);
        }
        long[] xs = x.shape();
        long rows = x.value().length() / d;
        INDArray x2 = x.value().reshape(rows, d);
        INDArray r = inverseRms(x2, d, eps);                                 // [R, 1]
        INDArray y = x2.mul(r).muli(weight.value()).reshape(xs);
        return Tape.record("rms_norm", y, new INDArray[] {r}, g -> {
            INDArray g2 = g.out().reshape(rows, d);
            INDArray xhat = x.value().reshape(rows, d).mul(r);
            INDArray gx = g2.mul(xhat);                                      // g x̂
            if (g.needs(1)) {
                g.add(1, gx.sum(0));
            }
            if (g.needs(0)) {
                INDArray m = gx.muli(weight.value()).sum(true, 1).divi(d);   // mean(g w x̂)
                // gx's buffer is free again: it becomes g w, then the gradient itself
                gx.assign(g2).muli(weight.value()).subi(xhat.muli(m)).muli(r);
                Memory.release(m);
                g.add(0, gx.reshape(xs));
            } else {
                Memory.release(gx);
            }
            Memory.release(xhat);
        }, x, weight);
    }

    /**
     * rmsNorm in native code for float32 of any size, bitwise the Java kernels' values; r is kept in float64, and a
     * strided x as a dense copy. The
     * input gradient is added straight into x's gradient so far when that array is dense.
     */
    private static Tensor nativeRmsNorm(Tensor x, Tensor weight, double eps, long d) {
        boolean dense = NativeKernels.denseFloats(x.value());
        INDArray xv = dense ? x.value() : NativeStrided.denseCopy(x.value());   // a strided view read once, natively
        INDArray y = Nd4j.createUninitialized(DataType.FLOAT, x.shape());
        INDArray r = Nd4j.createUninitialized(DataType.DOUBLE, x.value().length() / d);
        NativeNorm.forward(xv, weight.value(), eps, d, y, r);
        return Tape.record("rms_norm", y, dense ? new INDArray[] {r} : new INDArray[] {r, xv}, g -> {
            INDArray go = NativeKernels.denseFloats(g.out()) ? g.out() : g.out().dup('c');
            INDArray dw = g.needs(1) ? Nd4j.createUninitialized(DataType.FLOAT, d) : null;
            boolean[] dwDone = {false};
            if (g.needs(0)) {
                g.addInPlace(0, (grad, zeros) -> {
                    boolean direct = NativeKernels.denseFloats(grad);
                    INDArray dx = direct ? grad : Nd4j.createUninitialized(DataType.FLOAT, x.shape());
                    NativeNorm.backward(xv, weight.value(), r, go, d, dx,
                        direct && !zeros ? NativeNorm.Dx.ADD : NativeNorm.Dx.STORE, dw);
                    if (!direct && zeros) {
                        grad.assign(dx);
                    } else if (!direct) {   // a float32 sum here, not the float64 one of a dense gradient
                        grad.addi(dx);
                    }
                    if (!direct) {
                        Memory.release(dx);
                    }
                    dwDone[0] = true;
                });
            }
            if (dw != null && !dwDone[0]) {
                NativeNorm.backward(xv, weight.value(), r, go, d, null, NativeNorm.Dx.NONE, dw);
            }
            if (dw != null) {
                g.add(1, dw);
            }
            if (go != g.out()) {
                Memory.release(go);
            }
        }, x, weight);
    }

    /** rmsNorm through its Java kernels; the per-row r is kept for the backward in a Java array. */
    private static Tensor smallRmsNorm(Tensor x, Tensor weight, double eps, int d) {
        int n = (int) x.value().length();
        int rows = n / d;
        double[] r = new double[rows];
        double[] y = Dense.scratch(2, n);
        NormKernels.rmsNormForward(Dense.read(x.value(), 0), Dense.read(weight.value(), 1), eps, rows, d, y, r);
        return Tape.record("rms_norm", Dense.array(y, x.dtype(), x.shape()), g -> {
            double[] dx = g.needs(0) ? Dense.scratch(3, n) : null;
            double[] dw = g.needs(1) ? Dense.scratch(4, d) : null;
            NormKernels.rmsNormBackward(Dense.read(x.value(), 0), Dense.read(weight.value(), 1), r,
                Dense.read(g.out(), 2), rows, d, dx, dw);
            if (dx != null) {   // x is usually a residual stream whose gradient sums several parts: add in place
                g.addInPlace(0, (grad, zeros) -> Dense.addInto(dx, grad, zeros));
            }
            if (dw != null) {
                g.add(1, Dense.array(dw, x.dtype(), d));
            }
        }, x, weight);
    }

    /**
     * y = (x - mean) * rsqrt(var + eps) * weight + bias over the last dim, var biased (divided by D) as in
     * torch.nn.LayerNorm; weight and bias [D] may each be null (no affine part). With x̂ the normalised x and
     * ĝ = g w: d/dx = r (ĝ - mean(ĝ) - x̂ mean(ĝ x̂)), d/dweight = Σ_rows g x̂, d/dbias = Σ_rows g.
     */
    public static Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
        long d = lastDim("layerNorm", x, weight, bias, eps);
        long[] xs = x.shape();
        long rows = x.value().length() / d;
        INDArray mu = x.value().reshape(rows, d).mean(true, 1);              // [R, 1]
        INDArray y2 = x.value().reshape(rows, d).sub(mu);      // x - mean, then x̂, then y
        INDArray r = inverseRms(y2, d, eps);                                // rsqrt(var + eps), [R, 1]
        y2.muli(r);
        if (weight != null) {
            y2.muli(weight.value());
        }
        if (bias != null) {
            y2.addi(bias.value());
        }
        int wi = weight == null ? -1 : 1;
        int bi = bias == null ? -1 : weight == null ? 1 : 2;
        Tensor[] inputs = weight == null && bias == null ? new Tensor[] {x}
            : weight == null ? new Tensor[] {x, bias} : bias == null ? new Tensor[] {x, weight} : new Tensor[] {x, weight, bias};
        return Tape.record("layer_norm", y2.reshape(xs), new INDArray[] {mu, r}, g -> {
            INDArray g2 = g.out().reshape(rows, d);
            if (bi > 0 && g.needs(bi)) {
                g.add(bi, g2.sum(0));
            }
            boolean dx = g.needs(0);
            if (!dx && (wi < 0 || !g.needs(wi))) {
                return;
            }
            INDArray xhat = x.value().reshape(rows, d).sub(mu).muli(r);
            INDArray gx = g2.mul(xhat);                                      // g x̂
            if (wi > 0 && g.needs(wi)) {
                g.add(wi, gx.sum(0));
            }
            if (dx) {
                if (weight != null) {
                    gx.muli(weight.value());
                }
                INDArray m2 = gx.mean(true, 1);                              // mean(ĝ x̂)
                INDArray gHat = gx.assign(g2);                               // gx's buffer, reused for ĝ
                if (weight != null) {
                    gHat.muli(weight.value());
                }
                INDArray m1 = gHat.mean(true, 1);                            // mean(ĝ)
                gHat.subi(m1).subi(xhat.muli(m2)).muli(r);
                Memory.release(m1);
                Memory.release(m2);
                g.add(0, gHat.reshape(xs));
            } else {
                Memory.release(gx);
            }
            Memory.release(xhat);
        }, inputs);
    }

    /** rsqrt(sum(v², dim 1) / d + eps) of rows v [R, d], as a fresh [R, 1]; no [R, d] temporary. */
    private static INDArray inverseRms(INDArray v, long d, double eps) {
        INDArray n = v.norm2(true, 1);
        return Transforms.pow(n.muli(n).divi(d).addi(eps), -0.5, false);
    }

    /** Checks x [..., D], weight and bias [D] (when given), matching dtypes and eps; returns D. */
    private static long lastDim(String op, Tensor x, Tensor weight, Tensor bias, double eps) {
        long[] xs = x.shape();
        if (xs.length == 0 || xs[xs.length - 1] == 0) {
            throw new IllegalArgumentException(op + ": x has shape " + Arrays.toString(xs)
                + "; it needs a non-empty last dim to normalise over");
        }
        long d = xs[xs.length - 1];
        if (!(eps >= 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException(op + ": eps must be non-negative and finite but is " + eps);
        }
        for (Tensor p : new Tensor[] {weight, bias}) {
            if (p == null) {
                continue;
            }
            String name = p == weight ? "weight" : "bias";
            if (!Arrays.equals(p.shape(), new long[] {d})) {
                throw new IllegalArgumentException(op + ": " + name + " has shape " + Arrays.toString(p.shape())
                    + " but x has shape " + Arrays.toString(xs) + "; " + name + " must be [" + d + "]");
            }
            if (p.dtype() != x.dtype()) {
                throw new IllegalArgumentException(op + ": " + name + " is " + p.dtype() + " but x is " + x.dtype());
            }
        }
        return d;
    }
}
