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
    /** torch_ref.py's balance options: the Switch loss with aux_loss_alpha 0.01, batch-wise, nothing else. */
    static final BalanceOptions TORCH_REF = BalanceOptions.defaults().withAuxLoss(0.01, false);

    private MoeFixtures() {}

    /** The layer of these sizes with the default routing (softmax, normalised top-k) and {@link #TORCH_REF}. */
    static MoeConfig config(int hidden, int experts, int sharedExperts, int topK, int width) {
        return MoeConfig.of(new ExpertDims(hidden, experts, sharedExperts, topK, width)).withBalance(TORCH_REF);
    }

    /** Sigmoid scoring with norm_topk_prob and routed_scaling_factor as given, one group. */
    static RouterOptions sigmoid(boolean normTopkProb, double routedScalingFactor) {
        return RouterOptions.defaults().withScoring(RouterScore.SIGMOID, normTopkProb, routedScalingFactor);
    }

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
        int topK = moe.config().dims().topK();
        RouterOptions c = moe.config().routing();
        double[][] keys;
        try (GradMode.Scope off = GradMode.disable()) {
            Tensor flat = Shapes.reshape(x, x.size(0) * x.size(1), x.size(2));
            keys = moe.gate().route(flat).scores().value().toDoubleMatrix();
        }
        int per = moe.config().dims().nRoutedExperts() / c.nGroup();
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
            if (topK < allowed.length) {
                margin = Math.min(margin, allowed[allowed.length - topK] - allowed[allowed.length - topK - 1]);
            }
        }
        return margin;
    }
}
