// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import static spindle.optim.SmallArrays.read;
import static spindle.optim.SmallArrays.write;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;

/**
 * The Adam and SGD rules as Java loops over {@link SmallArrays}, for parameters small enough that ND4J's fixed
 * cost per op dominates. Each element follows PyTorch's single-tensor loop in the same order of operations
 * (exp_avg.lerp_, exp_avg_sq.mul_().addcmul_(), addcdiv_; buf.mul_().add_()), computed in double precision and,
 * for float32 parameters, rounded to float32 after each operation, with the scalars rounded to float32 first.
 */
final class SmallUpdates {
    private SmallUpdates() {}

    /** Adam/AdamW for one parameter at step {@code t}; false (nothing changed) when the arrays do not fit. */
    static boolean adam(Tensor param, INDArray grad, ParamState state, AdamOptions o, long t) {
        INDArray wa = param.value();
        if (!SmallArrays.fit(wa, grad)) {
            return false;
        }
        INDArray ma = state.bufferOrZeros("exp_avg", wa);
        INDArray va = state.bufferOrZeros("exp_avg_sq", wa);
        INDArray maxa = o.amsgrad() ? state.bufferOrZeros("max_exp_avg_sq", wa) : null;
        if (!SmallArrays.fit(wa, grad, ma, va, maxa)) {
            return false;
        }
        double[] w = read(wa, 0);
        double[] g = read(grad, 1);
        double[] m = read(ma, 2);
        double[] v = read(va, 3);
        double[] vmax = maxa == null ? null : read(maxa, 4);
        boolean f = wa.dataType() == DataType.FLOAT;
        boolean decoupled = o.decay() == AdamOptions.Decay.DECOUPLED;
        double keep = r(f, decoupled ? 1 - o.lr() * o.weightDecay() : 1);
        double l2 = r(f, decoupled ? 0 : o.weightDecay());
        double b2 = r(f, o.beta2());
        double toward = r(f, 1 - o.beta1());   // lerp's weight
        double rest = r(f, 1 - toward);
        double sqWeight = r(f, 1 - o.beta2());
        double eps = r(f, o.eps());
        double minusStep = r(f, -o.lr() / (1 - StrictMath.pow(o.beta1(), t)));
        double bc2Sqrt = r(f, StrictMath.sqrt(1 - StrictMath.pow(o.beta2(), t)));
        for (int i = 0, n = (int) wa.length(); i < n; i++) {
            double wi = keep == 1 ? w[i] : r(f, w[i] * keep);
            double gi = l2 == 0 ? g[i] : r(f, g[i] + l2 * wi);
            double diff = r(f, gi - m[i]);
            double mi = toward < 0.5 ? r(f, m[i] + toward * diff) : r(f, gi - r(f, diff * rest));
            double vi = r(f, r(f, v[i] * b2) + r(f, r(f, sqWeight * gi) * gi));
            m[i] = mi;
            v[i] = vi;
            if (vmax != null) {
                vi = vmax[i] = Math.max(vmax[i], vi);
            }
            double denom = r(f, r(f, Math.sqrt(vi)) / bc2Sqrt) + eps;
            w[i] = r(f, wi + r(f, minusStep * r(f, mi / r(f, denom))));
        }
        write(m, ma);
        write(v, va);
        if (vmax != null) {
            write(vmax, maxa);
        }
        param.mutate(x -> write(w, x));
        return true;
    }

    /** SGD for one parameter; false (nothing changed) when the arrays do not fit. */
    static boolean sgd(Tensor param, INDArray grad, ParamState state, SgdOptions o) {
        INDArray wa = param.value();
        INDArray ba = state.buffer("momentum_buffer");
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
