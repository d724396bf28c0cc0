// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.FlatIndex;
import spindle.autograd.GradCheckOptions;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;

/**
 * Gradient check of a whole float64 module with respect to its own parameters: backward fills each
 * parameter's {@code .grad}, then central differences perturb the parameter in place, one element at a
 * time, a seeded subset of at most {@code maxElementsPerInput} elements per parameter. Use it for a layer
 * or model you wrote: {@code ModuleGradCheck.assertMatches(model, () -> loss(model, batch))}.
 */
public final class ModuleGradCheck {
    private ModuleGradCheck() {}

    /** With torch.autograd.gradcheck's tolerances. */
    public static void assertMatches(Module module, Supplier<Tensor> scalarLoss) {
        assertMatches(module, scalarLoss, GradCheckOptions.defaults());
    }

    /**
     * Throws an AssertionError with {@link ModuleGradCheckResult#message()}, naming the parameter, the element,
     * both values and |diff| of the worst mismatch, when any checked element fails (a NaN fails).
     */
    public static void assertMatches(Module module, Supplier<Tensor> scalarLoss, GradCheckOptions options) {
        ModuleGradCheckResult r = check(module, scalarLoss, options);
        if (!r.passed()) {
            throw new AssertionError(r.message());
        }
    }

    /** Checks every trainable parameter and returns the counts and the worst element; leaves the grads zeroed. */
    public static ModuleGradCheckResult check(Module module, Supplier<Tensor> scalarLoss, GradCheckOptions options) {
        Map<String, Tensor> params = module.trainableParameters();
        params.forEach((name, p) -> {
            if (p.dtype() != DataType.DOUBLE) {
                throw new IllegalArgumentException("ModuleGradCheck needs a float64 module, but " + name + " is "
                    + p.dtype() + "; build the module with DataType.DOUBLE");
            }
        });
        module.zeroGrad();
        Tensor loss = scalarLoss.get();
        if (loss.shape().length != 0 && loss.value().length() != 1) {
            throw new IllegalArgumentException("ModuleGradCheck needs a scalar loss, got shape "
                + java.util.Arrays.toString(loss.shape()));
        }
        loss.backward();
        loss.close();
        SplittableRandom rng = new SplittableRandom(options.seed());
        Worst worst = new Worst(options);
        try (GradMode.Scope off = GradMode.disable()) {
            for (Map.Entry<String, Tensor> e : params.entrySet()) {
                INDArray value = e.getValue().value();
                INDArray grad = e.getValue().grad();
                for (long i : elements(value.length(), options, rng)) {
                    double analytic = grad == null ? 0 : grad.getDouble(i);
                    double numeric = centralDifference(value, i, scalarLoss, options.eps());
                    worst.offer(e.getKey(), value.shape(), i, analytic, numeric, grad == null);
                }
            }
        }
        if (worst.checked == 0) {
            throw new IllegalArgumentException("ModuleGradCheck: the module has no trainable parameters");
        }
        module.zeroGrad();
        return worst.result();
    }

    private static long[] elements(long n, GradCheckOptions options, SplittableRandom rng) {
        if (n <= options.maxElementsPerInput()) {
            return java.util.stream.LongStream.range(0, n).toArray();
        }
        return rng.longs(0, n).distinct().limit(options.maxElementsPerInput()).sorted().toArray();
    }

    private static double centralDifference(INDArray x, long i, Supplier<Tensor> loss, double eps) {
        double original = x.getDouble(i);
        x.putScalar(i, original + eps);
        double plus = evaluate(loss);
        x.putScalar(i, original - eps);
        double minus = evaluate(loss);
        x.putScalar(i, original);
        return (plus - minus) / (2 * eps);
    }

    private static double evaluate(Supplier<Tensor> loss) {
        try (Tensor l = loss.get()) {
            return l.item();
        }
    }

    /** Tracks the element whose error most exceeds (or comes closest to) its tolerance; NaN counts as infinite. */
    private static final class Worst {
        private final GradCheckOptions options;
        private int checked;
        private int failed;
        private double worstExcess = Double.NEGATIVE_INFINITY;
        private String parameter = "";
        private long[] shape = new long[0];
        private long element;
        private double analytic;
        private double numeric;
        private boolean noGradient;

        Worst(GradCheckOptions options) {
            this.options = options;
        }

        void offer(String name, long[] paramShape, long e, double a, double n, boolean noGrad) {
            double excess = Math.abs(a - n) - (options.atol() + options.rtol() * Math.abs(n));
            if (Double.isNaN(excess)) {
                excess = Double.POSITIVE_INFINITY;
            }
            checked++;
            if (!(excess <= 0)) {
                failed++;
            }
            if (checked == 1 || excess > worstExcess) {
                worstExcess = excess;
                parameter = name;
                shape = paramShape;
                element = e;
                analytic = a;
                numeric = n;
                noGradient = noGrad;
            }
        }

        ModuleGradCheckResult result() {
            return new ModuleGradCheckResult(checked, failed, parameter, FlatIndex.unravel(element, shape), shape,
                analytic, numeric, noGradient, options);
        }
    }
}
