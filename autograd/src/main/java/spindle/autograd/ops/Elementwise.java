// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.conditions.Conditions;
import org.nd4j.linalg.ops.transforms.Transforms;
import spindle.autograd.Broadcasting;
import spindle.autograd.Memory;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.NativeStrided;

/**
 * Element-by-element math: arithmetic and pow with PyTorch broadcasting, scalar conveniences, and the
 * unary functions (neg, exp, log, sqrt, rsqrt, abs, clamp). Every op keeps the input dtype.
 */
public final class Elementwise {
    private Elementwise() {}

    /** a + b, broadcast. */
    public static Tensor add(Tensor a, Tensor b) {
        INDArray ea = binary(a, b, "add");
        INDArray out = NativeStrided.fits(ea, b.value()) ? NativeStrided.sum(ea, b.value()) : ea.add(b.value());
        if (ea != a.value()) {
            Memory.release(ea);   // a's broadcast copy
        }
        return Tape.record("add", out, g -> {
            g.add(0, g.out());
            g.add(1, g.out());
        }, a, b);
    }

    /** a - b, broadcast. */
    public static Tensor sub(Tensor a, Tensor b) {
        INDArray out = binary(a, b, "sub").sub(b.value());
        return Tape.record("sub", out, g -> {
            g.add(0, g.out());
            if (g.needs(1)) {
                g.add(1, g.out().neg());
            }
        }, a, b);
    }

    /** a * b, broadcast. */
    public static Tensor mul(Tensor a, Tensor b) {
        INDArray out = binary(a, b, "mul").mul(b.value());
        return Tape.record("mul", out, g -> {
            if (g.needs(0)) {
                g.add(0, g.out().mul(b.value()));
            }
            if (g.needs(1)) {
                g.add(1, g.out().mul(a.value()));
            }
        }, a, b);
    }

    /** a / b, broadcast; d/db = -g * a / b^2 = -g * out / b. */
    public static Tensor div(Tensor a, Tensor b) {
        INDArray out = binary(a, b, "div").div(b.value());
        return Tape.record("div", out, g -> {
            if (g.needs(0)) {
                g.add(0, g.out().div(b.value()));
            }
            if (g.needs(1)) {
                g.add(1, g.out().mul(out).divi(b.value()).negi());
            }
        }, a, b);
    }

    /**
     * a^b, broadcast; d/da = g * b * a^(b-1), d/db = g * a^b * ln(a). As in PyTorch the ln(a) term counts
     * as 0 where a = 0 (so 0^b with b >= 0 has d/db = 0); a < 0 with a non-integer b gives NaN. Unlike
     * PyTorch, d/da at a = 0, b = 0 is NaN (0 * 0^-1) rather than 0.
     */
    public static Tensor pow(Tensor a, Tensor b) {
        INDArray ea = binary(a, b, "pow");
        INDArray eb = Broadcasting.expand(b.value(), ea.shape());
        INDArray out = Transforms.pow(ea, eb, true);
        return Tape.record("pow", out, g -> {
            if (g.needs(0)) {
                INDArray bm1 = eb.sub(1.0);
                g.add(0, Transforms.pow(ea, bm1, true).muli(eb).muli(g.out()));
                Memory.release(bm1);
            }
            if (g.needs(1)) {
                INDArray lnA = Transforms.log(ea, true);
                // ln 0 = -inf would make 0 * -inf = NaN; ND4J's equals(-inf) condition never matches, so isInfinite
                // is used, which also zeroes ln(+inf), an edge where PyTorch gives inf.
                BooleanIndexing.replaceWhere(lnA, 0.0, Conditions.isInfinite());
                g.add(1, lnA.muli(out).muli(g.out()));
            }
        }, a, b);
    }

    /** x^p for a constant exponent; d/dx = g * p * x^(p-1), and 0 when p = 0 (as PyTorch). */
    public static Tensor pow(Tensor x, double p) {
        INDArray out = Transforms.pow(x.value(), p, true);
        return Tape.record("pow_scalar", out, g -> {
            if (p == 0) {
                g.add(0, Nd4j.zerosLike(g.out()));
            } else {
                g.add(0, Transforms.pow(x.value(), p - 1, true).muli(p).muli(g.out()));
            }
        }, x);
    }

    /** x + s for a constant s; d/dx = g. */
    public static Tensor addScalar(Tensor x, double s) {
        return Tape.record("add_scalar", x.value().add(s), g -> g.add(0, g.out()), x);
    }

    /** x * s for a constant s; d/dx = g * s. */
    public static Tensor mulScalar(Tensor x, double s) {
        return Tape.record("mul_scalar", x.value().mul(s), g -> g.add(0, g.out().mul(s)), x);
    }

    /** -x. */
    public static Tensor neg(Tensor x) {
        return Tape.record("neg", x.value().neg(), g -> g.add(0, g.out().neg()), x);
    }

    /** e^x; the backward reuses the output: d/dx = g * e^x. */
    public static Tensor exp(Tensor x) {
        INDArray out = Transforms.exp(x.value(), true);
        return Tape.record("exp", out, g -> g.add(0, g.out().mul(out)), x);
    }

    /** Natural logarithm; d/dx = g / x. */
    public static Tensor log(Tensor x) {
        INDArray out = Transforms.log(x.value(), true);
        return Tape.record("log", out, g -> g.add(0, g.out().div(x.value())), x);
    }

    /** Square root; d/dx = g / (2 sqrt(x)). */
    public static Tensor sqrt(Tensor x) {
        INDArray out = Transforms.sqrt(x.value(), true);
        return Tape.record("sqrt", out, g -> g.add(0, g.out().div(out).muli(0.5)), x);
    }

    /** 1 / sqrt(x); d/dx = -g / (2 x^(3/2)) = -0.5 g out^3. */
    public static Tensor rsqrt(Tensor x) {
        INDArray out = Transforms.pow(x.value(), -0.5, true);
        return Tape.record("rsqrt", out, g -> g.add(0, out.mul(out).muli(out).muli(g.out()).muli(-0.5)), x);
    }

    /** |x|; d/dx = g * sign(x), which is 0 at x = 0 as in PyTorch. */
    public static Tensor abs(Tensor x) {
        INDArray out = Transforms.abs(x.value(), true);
        return Tape.record("abs", out, g -> g.add(0, Transforms.sign(x.value(), true).muli(g.out())), x);
    }

    /**
     * min(max(x, min), max), either bound null for none (as {@code torch.clamp}); when min > max every
     * element becomes max. The gradient passes where min <= x <= max (bounds included, as PyTorch) and is
     * 0 elsewhere.
     */
    public static Tensor clamp(Tensor x, Double min, Double max) {
        if (min == null && max == null) {
            throw new IllegalArgumentException("clamp: at least one of min and max must be non-null (x has shape "
                + Arrays.toString(x.shape()) + ")");
        }
        INDArray v = x.value();
        INDArray out = min == null ? Transforms.min(v, max, true) : Transforms.max(v, min, true);
        if (min != null && max != null) {
            Transforms.min(out, max, false);
        }
        boolean empty = min != null && max != null && min > max;   // no x satisfies min <= x <= max
        return Tape.record("clamp", out, g -> {
            if (empty) {
                g.add(0, Nd4j.zerosLike(g.out()));
                return;
            }
            // out equals x exactly where x was not clamped or sits on a bound: PyTorch's min <= x <= max.
            INDArray same = out.eq(x.value());
            g.add(0, same.castTo(out.dataType()).muli(g.out()));
            Memory.release(same);
        }, x);
    }

    /** Checks dtypes and broadcastability; returns a's value stretched where b is bigger. */
    static INDArray binary(Tensor a, Tensor b, String op) {
        if (a.dtype() != b.dtype()) {
            throw new IllegalArgumentException(op + ": dtypes differ (" + a.dtype() + " and " + b.dtype()
                + "); cast one with Tensors.cast first");
        }
        long[] shape = Broadcasting.shape(a.shape(), b.shape(), op);
        return Broadcasting.expand(a.value(), shape);
    }
}
