// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * How a new parameter is filled. Randomness comes from the {@link SplittableRandom} passed in, so the same
 * seed gives the same model on every machine; each call of {@link #create} draws fresh numbers.
 */
@FunctionalInterface
public interface Init {
    INDArray create(DataType dtype, long... shape);

    static Init zeros() {
        return (dtype, shape) -> Nd4j.zeros(dtype, shape);
    }

    static Init ones() {
        return (dtype, shape) -> Nd4j.ones(dtype, shape);
    }

    /** N(mean, std²), as Hugging Face's initializer_range init (std 0.02). */
    static Init normal(double mean, double std, SplittableRandom rng) {
        return (dtype, shape) -> fill(dtype, shape, n -> {
            double[] v = new double[n];
            for (int i = 0; i < n; i += 2) {
                // Box-Muller: two normals from two uniforms
                double r = Math.sqrt(-2 * Math.log(1 - rng.nextDouble()));
                double a = 2 * Math.PI * rng.nextDouble();
                v[i] = mean + std * r * Math.cos(a);
                if (i + 1 < n) {
                    v[i + 1] = mean + std * r * Math.sin(a);
                }
            }
            return v;
        });
    }

    /** U(-bound, bound). */
    static Init uniform(double bound, SplittableRandom rng) {
        return (dtype, shape) -> fill(dtype, shape, n -> {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                v[i] = (2 * rng.nextDouble() - 1) * bound;
            }
            return v;
        });
    }

    /**
     * PyTorch's nn.Linear default, kaiming_uniform(a = sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
     * fan_in the last dim of the shape (the same bound serves the bias when given the weight's fan_in).
     */
    static Init linearDefault(long fanIn, SplittableRandom rng) {
        return uniform(1 / Math.sqrt(fanIn), rng);
    }

    private static INDArray fill(DataType dtype, long[] shape, java.util.function.IntFunction<double[]> values) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("Init: " + n + " elements are too many for one parameter");
        }
        return Nd4j.create(values.apply((int) n), shape, DataType.DOUBLE).castTo(dtype);
    }
}
