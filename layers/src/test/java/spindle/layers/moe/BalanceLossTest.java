// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static spindle.layers.moe.MoeFixtures.tensor;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.executioner.OpExecutioner.ProfilingMode;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.profiler.OpProfiler;
import org.nd4j.linalg.profiler.ProfilerConfig;
import spindle.autograd.Tensor;

/** Each balance loss on small examples computed by hand. */
class BalanceLossTest {
    // Two sequences of two tokens, E = 2, K = 1.
    static final double[] P = {0.7, 0.3, 0.4, 0.6, 0.2, 0.8, 0.9, 0.1};
    static final long[] CHOSEN = {0, 0, 1, 0};

    @Test
    void switchLossIsAlphaTimesSumOfRoutedFractionTimesMeanProbability() {
        // f = counts [3, 1] * E / (N * K) = [1.5, 0.5]; mean P = [0.55, 0.45]
        Tensor loss = BalanceLoss.batchWise(tensor(P, 4, 2), CHOSEN, 1, 0.1);
        assertEquals(0.1 * (1.5 * 0.55 + 0.5 * 0.45), loss.item(), 1e-15);
    }

    @Test
    void sequenceWiseLossAveragesThePerSequenceLosses() {
        // sequence 0: f = [2, 0] * 2 / 2, P = [0.55, 0.45] -> 1.1; sequence 1: f = [1, 1], P = [0.55, 0.45] -> 1.0
        Tensor loss = BalanceLoss.sequenceWise(tensor(P, 4, 2), CHOSEN, 2, 2, 1, 0.1);
        assertEquals(0.1 * (1.1 + 1.0) / 2, loss.item(), 1e-15);
    }

    @Test
    void eachAuxLossIsOneOpWhoseGradientIsTheScaledRoutedFraction() {
        Tensor p = tensor(P, 4, 2).requiresGrad(true);
        INDArray seed = Nd4j.scalar(1.0);
        long ops = nd4jOps(() -> BalanceLoss.batchWise(p, CHOSEN, 1, 0.1).backward(seed));
        assertEquals(0, ops, "ND4J ops of the batch-wise loss, forward and backward (12 as a chain of ops)");
        // d/dp[n, i] = alpha * f_i / N = 0.1 * [1.5, 0.5] / 4 on every row
        assertArrayEquals(new double[] {0.0375, 0.0125, 0.0375, 0.0125, 0.0375, 0.0125, 0.0375, 0.0125},
            p.grad().data().asDouble(), 1e-17);
        Tensor q = tensor(P, 4, 2).requiresGrad(true);
        BalanceLoss.sequenceWise(q, CHOSEN, 2, 2, 1, 0.1).backward();
        // d/dp[b * T + t, i] = alpha / B * f[b, i] / T: f = [[2, 0], [1, 1]]
        assertArrayEquals(new double[] {0.05, 0, 0.05, 0, 0.025, 0.025, 0.025, 0.025}, q.grad().data().asDouble(),
            1e-17);
    }

    private static long nd4jOps(Runnable work) {
        Nd4j.getExecutioner().setProfilingConfig(ProfilerConfig.builder().notOptimalArguments(false).build());
        Nd4j.getExecutioner().setProfilingMode(ProfilingMode.OPERATIONS);
        long before = OpProfiler.getInstance().getInvocationsCount();
        try {
            work.run();
            return OpProfiler.getInstance().getInvocationsCount() - before;
        } finally {
            Nd4j.getExecutioner().setProfilingMode(ProfilingMode.DISABLED);
        }
    }

    @Test
    void zLossIsCoefTimesMeanSquaredLogSumExp() {
        Tensor logits = tensor(new double[] {0, Math.log(3), 1, 1}, 2, 2);
        double lse0 = Math.log(4);
        double lse1 = 1 + Math.log(2);
        assertEquals(0.01 * (lse0 * lse0 + lse1 * lse1) / 2, BalanceLoss.zLoss(logits, 0.01).item(), 1e-15);
    }

    @Test
    void sigmoidScoresAreNormalisedPerTokenAndTheEnabledLossesAdd() {
        MoeConfig c = new MoeConfig(new ExpertDims(3, 2, 0, 1, 2), MoeFixtures.sigmoid(true, 1),
            BalanceOptions.defaults().withAuxLoss(1.0, false).withZLoss(0.5));
        Tensor logits = tensor(new double[] {0, -Math.log(3)}, 1, 2);   // sigmoid: [1/2, 1/4]
        Tensor scores = tensor(new double[] {0.5, 0.25}, 1, 2);
        Tensor indices = Tensor.of(Nd4j.createFromArray(new long[][] {{0}}));
        Router.Routing r = new Router.Routing(logits, scores, indices, tensor(new double[] {1}, 1, 1));
        // f = [2, 0], P = [2/3, 1/3] -> 4/3; z = 0.5 * log(1 + 1/3)^2
        double z = Math.log(4.0 / 3);
        assertEquals(4.0 / 3 + 0.5 * z * z, BalanceLoss.of(c, r, new long[] {0}, 1, 1).item(), 1e-15);
        MoeConfig none = c.withBalance(c.balance().withAuxLoss(0, false).withZLoss(0));
        Tensor zero = BalanceLoss.of(none, r, new long[] {0}, 1, 1);
        assertEquals(0, zero.rank());
        assertEquals(0.0, zero.item());
    }
}
