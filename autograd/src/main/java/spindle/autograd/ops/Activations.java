// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erf;
import org.nd4j.linalg.api.ops.random.impl.BernoulliDistribution;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import spindle.autograd.Memory;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;

/**
 * Activation functions as in {@code torch.nn.functional}: tanh, sigmoid, relu, gelu (erf or tanh form),
 * silu, and inverted dropout with an explicit seed. Each keeps the input's shape and dtype.
 */
public final class Activations {
    private Activations() {}

    /** Which GELU formula to use, PyTorch's {@code approximate='none'} or {@code 'tanh'}. */
    public enum GeluApproximation {
        /** x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), the exact form. */
        NONE,
        /** 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), GPT-2's form. */
        TANH
    }

    private static final double SQRT_HALF = Math.sqrt(0.5);
    private static final double INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
    private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
    private static final double GELU_CUBIC = 0.044715;

    /** tanh(x); d/dx = g (1 - out^2). */
    public static Tensor tanh(Tensor x) {
        INDArray out = Transforms.tanh(x.value(), true);
        return Tape.record("tanh", out, g -> g.add(0, out.mul(out).rsubi(1).muli(g.out())), x);
    }

    /** 1 / (1 + e^-x); d/dx = g out (1 - out). */
    public static Tensor sigmoid(Tensor x) {
        INDArray out = Transforms.sigmoid(x.value(), true);
        return Tape.record("sigmoid", out, g -> g.add(0, out.rsub(1).muli(out).muli(g.out())), x);
    }

    /** max(x, 0); d/dx = g where x > 0, else 0 (0 at the kink, as PyTorch). */
    public static Tensor relu(Tensor x) {
        INDArray out = Transforms.relu(x.value(), true);
        return Tape.record("relu", out, g -> {
            // libnd4j's relu_bp masks and multiplies in one call: g where x > 0 (the t-argument), else 0.
            g.add(0, Nd4j.exec(DynamicCustomOp.builder("relu_bp").addInputs(x.value(), g.out())
                .addFloatingPointArguments(0.0).build())[0]);
        }, x);
    }

    /** GELU in its exact erf form, PyTorch's default: x * Phi(x). */
    public static Tensor gelu(Tensor x) {
        return gelu(x, GeluApproximation.NONE);
    }

    /**
     * GELU, x * Phi(x), with Phi the standard normal CDF computed exactly (NONE) or with the tanh
     * approximation (TANH). Exact form: d/dx = g (Phi(x) + x phi(x)), phi the normal density.
     */
    public static Tensor gelu(Tensor x, GeluApproximation approximation) {
        return approximation == GeluApproximation.TANH ? geluTanh(x) : geluErf(x);
    }

    private static Tensor geluErf(Tensor x) {
        INDArray v = x.value();
        INDArray cdf = v.mul(SQRT_HALF);
        Nd4j.exec(new Erf(cdf, cdf));
        cdf.addi(1).muli(0.5);                                   // Phi(x) = (1 + erf(x / sqrt 2)) / 2
        INDArray out = v.mul(cdf);
        return Tape.record("gelu", out, new INDArray[] {cdf}, g -> {
            INDArray d = v.mul(v).muli(-0.5);
            Transforms.exp(d, false).muli(INV_SQRT_2PI).muli(v);  // x phi(x)
            g.add(0, d.addi(cdf).muli(g.out()));
        }, x);
    }

    /** t = tanh(k (x + c x^3)), out = 0.5 x (1 + t); d/dx = 0.5 (1 + t + x k (1 + 3c x^2) (1 - t^2)). */
    private static Tensor geluTanh(Tensor x) {
        INDArray v = x.value();
        INDArray t = v.mul(v).muli(GELU_CUBIC).addi(1).muli(v).muli(SQRT_2_OVER_PI);
        Transforms.tanh(t, false);
        INDArray out = t.add(1).muli(v).muli(0.5);
        return Tape.record("gelu_tanh", out, new INDArray[] {t}, g -> {
            INDArray d = v.mul(v).muli(3 * GELU_CUBIC).addi(1).muli(v).muli(SQRT_2_OVER_PI);
            INDArray sech2 = t.mul(t).rsubi(1);
            d.muli(sech2).addi(t).addi(1).muli(0.5).muli(g.out());
            Memory.release(sech2);
            g.add(0, d);
        }, x);
    }

    /** SiLU (swish), x * sigmoid(x); d/dx = g s (1 + x (1 - s)) with s = sigmoid(x). */
    public static Tensor silu(Tensor x) {
        INDArray v = x.value();
        INDArray s = Transforms.sigmoid(v, true);
        return Tape.record("silu", v.mul(s), new INDArray[] {s}, g ->
            g.add(0, s.rsub(1).muli(v).addi(1).muli(s).muli(g.out())), x);
    }

    /**
     * Inverted dropout: each element is zeroed with probability p and the rest scaled by 1 / (1 - p), so the
     * expected value is unchanged. The mask depends only on {@code seed} and the shape (same seed, same mask).
     * With p = 0 or {@code training} false, x itself is returned and nothing is recorded.
     */
    public static Tensor dropout(Tensor x, double p, boolean training, long seed) {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("dropout: p must be in [0, 1) but is " + p + " (x has shape "
                + Arrays.toString(x.shape()) + ")");
        }
        if (p == 0 || !training) {
            return x;
        }
        INDArray mask = keepMask(x.value(), 1 - p, seed).muli(1 / (1 - p));
        return Tape.record("dropout", x.value().mul(mask), new INDArray[] {mask},
            g -> g.add(0, g.out().mul(mask)), x);
    }

    /** As {@link #dropout(Tensor, double, boolean, long)}, with the seed drawn from {@code rng} (only when used). */
    public static Tensor dropout(Tensor x, double p, boolean training, SplittableRandom rng) {
        boolean draws = training && p > 0 && p < 1;   // eval mode and p = 0 leave rng untouched
        long seed = 0;
        if (draws) {
            synchronized (rng) {   // data-parallel replicas share a model's generator; SplittableRandom is not thread-safe
                seed = rng.nextLong();
            }
        }
        return dropout(x, p, training, seed);
    }

    /** A fresh array shaped and typed like {@code like}, 1 with probability {@code keep} and 0 otherwise. */
    private static INDArray keepMask(INDArray like, double keep, long seed) {
        INDArray mask = Nd4j.create(like.dataType(), like.shape());
        // A private generator, so the mask depends on the seed alone and the global ND4J RNG is untouched.
        Random rng = Nd4j.getRandomFactory().getNewRandomInstance(seed);
        try {
            Nd4j.getExecutioner().exec(new BernoulliDistribution(mask, keep), rng);
        } finally {
            close(rng);
        }
        return mask;
    }

    private static void close(Random rng) {
        try {
            rng.close();
        } catch (Exception e) {
            throw new IllegalStateException("dropout: closing ND4J's random generator failed", e);
        }
    }
}
