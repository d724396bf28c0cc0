// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Shapes;
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
     * The smallest gap, over tokens, between what top-k selection keeps and what it leaves (group scores at the
     * topk_group boundary, then keys at the K boundary among the kept groups), recomputed here from the scores
     * and the bias: a gap well above the finite-difference step keeps the routing fixed during a check.
     */
    static double routingMargin(MixtureOfExperts moe, Tensor x) {
        MoeConfig c = moe.config();
        double[][] keys;
        try (GradMode.Scope off = GradMode.disable()) {
            Tensor flat = Shapes.reshape(x, x.size(0) * x.size(1), x.size(2));
            keys = moe.gate().route(flat).scores().value().toDoubleMatrix();
        }
        int per = c.nRoutedExperts() / c.nGroup();
        double margin = Double.POSITIVE_INFINITY;
        for (double[] key : keys) {
            for (int i = 0; i < key.length && moe.gate().bias() != null; i++) {
                key[i] += moe.gate().bias().getDouble(i);
            }
            double[] group = new double[c.nGroup()];
            for (int g = 0; g < c.nGroup(); g++) {
                double[] members = Arrays.copyOfRange(key, g * per, (g + 1) * per);
                Arrays.sort(members);
                group[g] = c.scoring() == RouterScore.SIGMOID && per > 1 ? members[per - 1] + members[per - 2]
                    : members[per - 1];
            }
            double[] sortedGroups = group.clone();
            Arrays.sort(sortedGroups);
            double cut = sortedGroups[c.nGroup() - c.topkGroup()];
            if (c.topkGroup() < c.nGroup()) {
                margin = Math.min(margin, cut - sortedGroups[c.nGroup() - c.topkGroup() - 1]);
            }
            double[] allowed = IntStream.range(0, key.length).filter(i -> group[i / per] >= cut)
                .mapToDouble(i -> key[i]).sorted().toArray();
            if (c.topK() < allowed.length) {
                margin = Math.min(margin, allowed[allowed.length - c.topK()] - allowed[allowed.length - c.topK() - 1]);
            }
        }
        return margin;
    }
}
