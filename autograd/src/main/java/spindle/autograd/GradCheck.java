// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Compares backward against central differences in float64, as {@code torch.autograd.gradcheck} does.
 * A non-scalar output is projected on a seeded random direction v, so what is checked is the
 * vector-Jacobian product d(sum(v * out)) / d input, element by element of each input.
 *
 * <pre>{@code GradCheck.assertMatches(in -> myOp(in[0], in[1]), x, y);   // in a JUnit test}</pre>
 */
public final class GradCheck {
    private GradCheck() {}

    /** Throws an {@link AssertionError} with {@link GradCheckResult#message()} when any checked element fails. */
    public static void assertMatches(TensorFunction fn, Tensor... inputs) {
        assertMatches(fn, GradCheckOptions.defaults(), inputs);
    }

    public static void assertMatches(TensorFunction fn, GradCheckOptions options, Tensor... inputs) {
        GradCheckResult r = check(fn, options, inputs);
        if (!r.passed()) {
            throw new AssertionError(r.message());
        }
    }

    /**
     * Checks the gradient of {@code fn} with respect to every floating-point input that requires grad (every
     * floating-point input when none does). Integer inputs are passed through as constants.
     */
    public static GradCheckResult check(TensorFunction fn, GradCheckOptions options, Tensor... inputs) {
        List<Integer> checkedInputs = chooseInputs(inputs);
        Tensor[] leaves = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            leaves[i] = Tensor.of(inputs[i].value().dup('c')).requiresGrad(checkedInputs.contains(i));
        }
        SplittableRandom rng = new SplittableRandom(options.seed());
        Tensor out = fn.apply(leaves);
        if (out.dtype() != DataType.DOUBLE) {
            throw new IllegalStateException("GradCheck: the function returned " + out.dtype() + " for float64 inputs;"
                + " a check in lower precision would hide real errors");
        }
        INDArray v = randomDirection(out.shape(), rng);
        List<Tensor> wrt = new ArrayList<>();
        checkedInputs.forEach(i -> wrt.add(leaves[i]));
        List<INDArray> analytic = Autograd.grad(List.of(out), wrt, List.of(v), false);

        Worst worst = new Worst(options);
        try (GradMode.Scope off = GradMode.disable()) {
            for (int k = 0; k < checkedInputs.size(); k++) {
                int i = checkedInputs.get(k);
                INDArray x = leaves[i].value();
                for (long e : elementsToCheck(x.length(), options, rng)) {
                    double numeric = centralDifference(fn, leaves, x, e, v, options.eps());
                    worst.offer(i, x.shape(), e, analytic.get(k).getDouble(e), numeric);
                }
            }
        }
        return worst.result();
    }

    private static List<Integer> chooseInputs(Tensor[] inputs) {
        List<Integer> floating = new ArrayList<>();
        List<Integer> requiring = new ArrayList<>();
        for (int i = 0; i < inputs.length; i++) {
            DataType t = inputs[i].dtype();
            if (t == DataType.FLOAT || t == DataType.HALF || t == DataType.BFLOAT16) {
                throw new IllegalArgumentException("GradCheck needs float64 inputs, but input " + i + " is " + t
                    + ": central differences with eps 1e-6 cancel almost every digit of a float32 result."
                    + " Build the inputs with DataType.DOUBLE.");
            }
            if (t == DataType.DOUBLE) {
                floating.add(i);
                if (inputs[i].requiresGrad()) {
                    requiring.add(i);
                }
            }
        }
        if (floating.isEmpty()) {
            throw new IllegalArgumentException("GradCheck: no float64 input to differentiate");
        }
        return requiring.isEmpty() ? floating : requiring;
    }

    private static INDArray randomDirection(long[] shape, SplittableRandom rng) {
        INDArray v = Nd4j.create(DataType.DOUBLE, shape);
        for (long e = 0; e < v.length(); e++) {
            v.putScalar(e, rng.nextDouble(-1, 1));
        }
        return v;
    }

    private static long[] elementsToCheck(long n, GradCheckOptions options, SplittableRandom rng) {
        if (n <= options.maxElementsPerInput()) {
            return java.util.stream.LongStream.range(0, n).toArray();
        }
        return rng.longs(0, n).distinct().limit(options.maxElementsPerInput()).sorted().toArray();
    }

    /** (f(x + eps) - f(x - eps)) / 2 eps at element e, with f = sum(v * fn(inputs)), restoring x after. */
    private static double centralDifference(TensorFunction fn, Tensor[] leaves, INDArray x, long e, INDArray v, double eps) {
        double original = x.getDouble(e);
        x.putScalar(e, original + eps);
        double plus = projected(fn, leaves, v);
        x.putScalar(e, original - eps);
        double minus = projected(fn, leaves, v);
        x.putScalar(e, original);
        return (plus - minus) / (2 * eps);
    }

    private static double projected(TensorFunction fn, Tensor[] leaves, INDArray v) {
        Tensor out = fn.apply(leaves);
        double s = out.value().mul(v).sumNumber().doubleValue();
        out.close();
        return s;
    }

    /** Tracks the element whose error most exceeds (or comes closest to) its tolerance. */
    private static final class Worst {
        private final GradCheckOptions options;
        private int checked;
        private int failed;
        private double worstExcess = Double.NEGATIVE_INFINITY;
        private int input;
        private long[] shape = new long[0];
        private long element;
        private double analytic;
        private double numeric;

        Worst(GradCheckOptions options) {
            this.options = options;
        }

        void offer(int in, long[] inShape, long e, double a, double n) {
            double excess = Math.abs(a - n) - (options.atol() + options.rtol() * Math.abs(n));
            boolean bad = !(excess <= 0);   // NaN fails too
            checked++;
            if (bad) {
                failed++;
            }
            if (bad && !(worstExcess > 0) || excess > worstExcess || Double.isNaN(excess)) {
                worstExcess = Double.isNaN(excess) ? Double.POSITIVE_INFINITY : excess;
                input = in;
                shape = inShape;
                element = e;
                analytic = a;
                numeric = n;
            }
        }

        GradCheckResult result() {
            return new GradCheckResult(checked, failed, input, FlatIndex.unravel(element, shape), shape, analytic, numeric, options);
        }
    }
}
