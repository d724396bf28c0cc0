// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import static spindle.optim.SmallArrays.read;
import static spindle.optim.SmallArrays.write;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.NativeOptim;

/**
 * The Adam and SGD rules in one pass per parameter: for float32 arrays of any size natively (NativeOptim, which
 * computes what these loops compute, bit for bit), else as Java loops over {@link SmallArrays}, for parameters
 * small enough that ND4J's fixed cost per op dominates. Each element follows PyTorch's single-tensor loop in the
 * same order of operations (exp_avg.lerp_, exp_avg_sq.mul_().addcmul_(), addcdiv_; buf.mul_().add_()), computed in double precision and,
 * for float32 parameters, rounded to float32 after each operation, with the scalars rounded to float32 first.
 */
final class SmallUpdates {
    private SmallUpdates() {}

    /**
     * Adam/AdamW for one parameter at step {@code t}: natively for float32 arrays of any size, else by the Java loop
     * for small ones; false (nothing changed) when neither takes the arrays.
     */
    static boolean adam(Tensor param, INDArray grad, ParamState state, AdamOptions o, long t) {
        INDArray wa = param.value();
        boolean natively = NativeOptim.fits(wa, grad);
        if (!natively && !SmallArrays.fit(wa, grad)) {
            return false;
        }
        INDArray ma = state.bufferOrZeros("exp_avg", wa);
        INDArray va = state.bufferOrZeros("exp_avg_sq", wa);
        INDArray maxa = o.amsgrad() ? state.bufferOrZeros("max_exp_avg_sq", wa) : null;
        AdamScalars s = AdamScalars.of(o, t, wa.dataType() == DataType.FLOAT);
        if (natively && NativeOptim.fits(wa, grad, ma, va, maxa)) {
            param.mutate(x -> NativeOptim.adam(x, grad, ma, va, maxa, (float) s.keep, (float) s.l2, (float) s.b2,
                (float) s.toward, (float) s.rest, (float) s.sqWeight, (float) s.eps, (float) s.minusStep,
                (float) s.bc2Sqrt));
            return true;
        }
        if (!SmallArrays.fit(wa, grad, ma, va, maxa)) {
            return false;
        }
        double[] w = read(wa, 0);
        double[] g = read(grad, 1);
        double[] m = read(ma, 2);
        double[] v = read(va, 3);
        double[] vmax = maxa == null ? null : read(maxa, 4);
        boolean f = wa.dataType() == DataType.FLOAT;
        for (int i = 0, n = (int) wa.length(); i < n; i++) {
            double wi = s.keep == 1 ? w[i] : r(f, w[i] * s.keep);
            double gi = s.l2 == 0 ? g[i] : r(f, g[i] + s.l2 * wi);
            double diff = r(f, gi - m[i]);
            double mi = s.toward < 0.5 ? r(f, m[i] + s.toward * diff) : r(f, gi - r(f, diff * s.rest));
            double vi = r(f, r(f, v[i] * s.b2) + r(f, r(f, s.sqWeight * gi) * gi));
            m[i] = mi;
            v[i] = vi;
            if (vmax != null) {
                vi = vmax[i] = Math.max(vmax[i], vi);
            }
            double denom = r(f, r(f, Math.sqrt(vi)) / s.bc2Sqrt) + s.eps;
            w[i] = r(f, wi + r(f, s.minusStep * r(f, mi / r(f, denom))));
        }
        write(m, ma);
        write(v, va);
        if (vmax != null) {
            write(vmax, maxa);
        }
        param.mutate(x -> write(w, x));
        return true;
    }

    /** Adam's scalars at step t, rounded to float32 for a float32 parameter (as torch casts them to the tensor's). */
    private record AdamScalars(double keep, double l2, double b2, double toward, double rest, double sqWeight,
                               double eps, double minusStep, double bc2Sqrt) {
        static AdamScalars of(AdamOptions o, long t, boolean f) {
            boolean decoupled = o.decay() == AdamOptions.Decay.DECOUPLED;
            double toward = r(f, 1 - o.beta1());   // lerp's weight
            return new AdamScalars(r(f, decoupled ? 1 - o.lr() * o.weightDecay() : 1),
                r(f, decoupled ? 0 : o.weightDecay()), r(f, o.beta2()), toward, r(f, 1 - toward),
                r(f, 1 - o.beta2()), r(f, o.eps()),
                r(f, -o.lr() / (1 - StrictMath.pow(o.beta1(), t))),
                r(f, StrictMath.sqrt(1 - StrictMath.pow(o.beta2(), t))));
        }
    }

    /**
     * SGD for one parameter: natively for float32 arrays of any size, else by the Java loop for small ones; false
     * (nothing changed) when neither takes the arrays.
     */
    static boolean sgd(Tensor param, INDArray grad, ParamState state, SgdOptions o) {
        INDArray wa = param.value();
        INDArray ba = state.buffer("momentum_buffer");
        if (NativeOptim.fits(wa, grad, ba)) {
            boolean first = o.momentum() != 0 && ba == null;   // the buffer starts as d itself, as in PyTorch
            INDArray buf = o.momentum() == 0 ? null : first ? Nd4j.create(wa.dataType(), wa.shape()) : ba;
            if (NativeOptim.fits(wa, grad, buf)) {
                if (first) {
                    state.put("momentum_buffer", buf);
                }
                param.mutate(x -> NativeOptim.sgd(x, grad, buf, (float) o.weightDecay(), (float) o.momentum(),
                    (float) (1 - o.dampening()), first, o.nesterov(), (float) -o.lr()));
                return true;
            }
        }
        if (!SmallArrays.fit(wa, grad, ba)) {
            return false;
        }
        double[] w = read(wa, 0);
        double[] d = read(grad, 1);
        boolean f = wa.dataType() == DataType.FLOAT;
        int n = (int) wa.length();
        double wd = r(f, o.weightDecay());
        if (wd != 0) {
            for (int i = 0; i < n; i++) {
                d[i] = r(f, d[i] + wd * w[i]);
            }
        }
        if (o.momentum() != 0) {
            double mu = r(f, o.momentum());
            double[] buf = momentum(state, wa, d, mu, r(f, 1 - o.dampening()), n);
            for (int i = 0; i < n; i++) {
                d[i] = o.nesterov() ? r(f, d[i] + mu * buf[i]) : buf[i];
            }
        }
        double minusLr = r(f, -o.lr());
        for (int i = 0; i < n; i++) {
            w[i] = r(f, w[i] + minusLr * d[i]);
        }
        param.mutate(x -> write(w, x));
        return true;
    }

    /** The momentum buffer after this step: d itself on the first step (PyTorch), mu * buf + damp * d after. */
    private static double[] momentum(ParamState state, INDArray like, double[] d, double mu, double damp, int n) {
        INDArray ba = state.buffer("momentum_buffer");
        if (ba == null) {
            ba = state.put("momentum_buffer", Nd4j.create(like.dataType(), like.shape()));
            write(d, ba);
            return read(ba, 2);
        }
        double[] buf = read(ba, 2);
        boolean f = like.dataType() == DataType.FLOAT;
        for (int i = 0; i < n; i++) {
            buf[i] = r(f, r(f, buf[i] * mu) + damp * d[i]);
        }
        write(buf, ba);
        return buf;
    }

    /**
     * x rounded to float32 when {@code f32}: the loops round after each operation as PyTorch's float32 kernels do.
     * A sum a + b * c of float32 values is one rounding in double and one to float (b * c is exact in double),
     * which matches the fused multiply-add of add_(x, alpha) and lerp_ except in rare double-rounding ties.
     */
    private static double r(boolean f32, double x) {
        return f32 ? (float) x : x;
    }
}
