// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A named gradient-check case: a function and the shapes of its float64 inputs, drawn uniformly from
 * [-1, 1] unless a range is set, with options that keep inputs off kinks ({@link #awayFrom}) and ties
 * ({@link #withoutTies}). Immutable: each option returns a new case.
 *
 * <pre>{@code GradCase.of(in -> relu(in[0]), shape(10)).awayFrom(0, 0.0, 0.1).check(new SplittableRandom(1));}</pre>
 */
public final class GradCase {
    private final TensorFunction fn;
    private final long[][] shapes;
    private final Map<Integer, double[]> ranges;
    private final Map<Integer, double[]> kinks;
    private final Map<Integer, Boolean> noTies;
    private final GradCheckOptions options;

    private GradCase(TensorFunction fn, long[][] shapes, Map<Integer, double[]> ranges, Map<Integer, double[]> kinks,
                     Map<Integer, Boolean> noTies, GradCheckOptions options) {
        this.fn = fn;
        this.shapes = shapes;
        this.ranges = ranges;
        this.kinks = kinks;
        this.noTies = noTies;
        this.options = options;
    }

    public static GradCase of(TensorFunction fn, long[]... shapes) {
        return new GradCase(fn, shapes, Map.of(), Map.of(), Map.of(), GradCheckOptions.defaults());
    }

    /** A shape, for readable cases: {@code shape(3, 4)}. */
    public static long[] shape(long... dims) {
        return dims;
    }

    /** Input {@code i} drawn from [lo, hi] instead of [-1, 1] (e.g. a positive divisor or log argument). */
    public GradCase withRange(int i, double lo, double hi) {
        Map<Integer, double[]> m = new HashMap<>(ranges);
        m.put(i, new double[] {lo, hi});
        return new GradCase(fn, shapes, m, kinks, noTies, options);
    }

    /** Moves every value of input {@code i} at least {@code margin} away from {@code point} (a kink). */
    public GradCase awayFrom(int i, double point, double margin) {
        Map<Integer, double[]> m = new HashMap<>(kinks);
        m.put(i, new double[] {point, margin});
        return new GradCase(fn, shapes, ranges, m, noTies, options);
    }

    /** Input {@code i} gets evenly spaced distinct values in random order, so max, sort and top-k have no ties. */
    public GradCase withoutTies(int i) {
        Map<Integer, Boolean> m = new HashMap<>(noTies);
        m.put(i, true);
        return new GradCase(fn, shapes, ranges, kinks, m, options);
    }

    public GradCase withOptions(GradCheckOptions o) {
        return new GradCase(fn, shapes, ranges, kinks, noTies, o);
    }

    public TensorFunction fn() {
        return fn;
    }

    /** Fresh float64 inputs drawn from {@code rng}. */
    public Tensor[] inputs(SplittableRandom rng) {
        Tensor[] in = new Tensor[shapes.length];
        for (int i = 0; i < shapes.length; i++) {
            in[i] = Tensor.of(Nd4j.create(values(i, rng), shapes[i], DataType.DOUBLE)).requiresGrad(true);
        }
        return in;
    }

    /** Runs the check on inputs drawn from {@code rng}. */
    public GradCheckResult check(SplittableRandom rng) {
        return GradCheck.check(fn, options, inputs(rng));
    }

    /** As {@link #check}, throwing an AssertionError with the worst element on failure. */
    public void assertMatches(SplittableRandom rng) {
        GradCheck.assertMatches(fn, options, inputs(rng));
    }

    private double[] values(int i, SplittableRandom rng) {
        int n = (int) Arrays.stream(shapes[i]).reduce(1, (a, b) -> a * b);
        double[] range = ranges.getOrDefault(i, new double[] {-1, 1});
        double[] v = new double[n];
        if (noTies.containsKey(i)) {
            for (int k = 0; k < n; k++) {
                v[k] = range[0] + (k + 0.5) * (range[1] - range[0]) / n;
            }
            for (int k = n - 1; k > 0; k--) {
                int j = rng.nextInt(k + 1);
                double t = v[k];
                v[k] = v[j];
                v[j] = t;
            }
        } else {
            for (int k = 0; k < n; k++) {
                v[k] = rng.nextDouble(range[0], range[1]);
            }
        }
        double[] kink = kinks.get(i);
        if (kink != null) {
            for (int k = 0; k < n; k++) {
                double d = v[k] - kink[0];
                if (Math.abs(d) < kink[1]) {
                    v[k] = kink[0] + Math.copySign(kink[1] + Math.abs(d), d == 0 ? 1 : d);
                }
            }
        }
        return v;
    }

    @Override
    public String toString() {
        return "GradCase" + Arrays.deepToString(shapes);
    }
}
