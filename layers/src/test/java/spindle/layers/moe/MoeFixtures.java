// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.layers.Init;
import spindle.layers.LinearFactory;

/** Seeded float64 MoE layers and inputs for the tests of this package. */
final class MoeFixtures {
    private MoeFixtures() {}

    /** A float64 layer with N(0, 0.5²) expert weights and N(0, 1) gate weights drawn from {@code seed}. */
    static MixtureOfExperts layer(MoeConfig c, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        return new MixtureOfExperts(c, LinearFactory.plain(DataType.DOUBLE, Init.normal(0, 0.5, rng.split())),
            DataType.DOUBLE, Init.normal(0, 1, rng.split()));
    }

    /** A float64 N(0, 1) tensor that requires grad. */
    static Tensor randn(long seed, long... shape) {
        return Tensor.of(Init.normal(0, 1, new SplittableRandom(seed)).create(DataType.DOUBLE, shape))
            .requiresGrad(true);
    }

    /** A float64 tensor with the given values (row-major). */
    static Tensor tensor(double[] values, long... shape) {
        return Tensor.of(Nd4j.create(values, shape, DataType.DOUBLE));
    }

    /** Overwrites the gate weight [E, hidden] with {@code rows}. */
    static void setGate(MixtureOfExperts moe, double[][] rows) {
        try (GradMode.Scope off = GradMode.disable()) {
            moe.gate().weight().mutate(w -> w.assign(Nd4j.createFromArray(rows)));
        }
    }

    /**
     * The smallest gap, over tokens, between the K-th and the (K+1)-th largest selection key (scores plus bias,
     * no groups): a gap well above the finite-difference step keeps the top-k choice fixed during a check.
     */
    static double topKMargin(MixtureOfExperts moe, Tensor x) {
        try (GradMode.Scope off = GradMode.disable()) {
            Tensor flat = spindle.autograd.ops.Shapes.reshape(x, x.size(0) * x.size(1), x.size(2));
            double[][] s = moe.gate().route(flat).scores().value().toDoubleMatrix();
            double margin = Double.POSITIVE_INFINITY;
            int k = moe.config().topK();
            for (double[] row : s) {
                double[] sorted = row.clone();
                if (moe.gate().bias() != null) {
                    for (int i = 0; i < sorted.length; i++) {
                        sorted[i] += moe.gate().bias().getDouble(i);
                    }
                }
                java.util.Arrays.sort(sorted);
                if (k < sorted.length) {
                    margin = Math.min(margin, sorted[sorted.length - k] - sorted[sorted.length - k - 1]);
                }
            }
            return margin;
        }
    }
}
