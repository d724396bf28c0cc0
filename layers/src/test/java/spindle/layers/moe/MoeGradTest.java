// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static spindle.autograd.GradCase.shape;
import static spindle.autograd.ops.Elementwise.add;
import static spindle.autograd.ops.Elementwise.mul;
import static spindle.autograd.ops.Elementwise.mulScalar;
import static spindle.autograd.ops.Reductions.sum;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import spindle.autograd.GradCase;
import spindle.autograd.GradCheck;
import spindle.autograd.GradCheckOptions;
import spindle.autograd.Tensor;
import spindle.layers.ModuleGradCheck;

/**
 * Float64 central-difference checks of the MoE forward: d/dx with GradCase, d/d(gate weight, every expert and
 * shared-expert weight) with ModuleGradCheck. The objective is sum(y * R) + 10 * balance loss (R fixed), so the
 * balance losses are checked through the gate too. Routing is piecewise constant: each case first asserts that
 * its inputs keep the top-k choice (and the group choice) more than 1e-3 away from a tie.
 */
class MoeGradTest {
    static final int B = 2;
    static final int T = 3;
    static final int HIDDEN = 3;

    static Stream<Named<MoeConfig>> cases() {
        MoeConfig base = MoeFixtures.config(HIDDEN, 4, 1, 2, 2);
        BalanceOptions torchRef = MoeFixtures.TORCH_REF;
        return Stream.of(
            Named.of("softmax top-2, shared expert, Switch loss", base.withBalance(torchRef.withAuxLoss(0.5, false))),
            Named.of("sigmoid top-2, normalised, scaling 2.5", base.withRouting(MoeFixtures.sigmoid(true, 2.5))),
            Named.of("sigmoid, not normalised", base.withRouting(MoeFixtures.sigmoid(false, 1.0))),
            Named.of("sigmoid, 2 groups of 3 keep 1 (top-2 group sums), loss-free bias",
                MoeFixtures.config(HIDDEN, 6, 1, 2, 2).withRouting(MoeFixtures.sigmoid(true, 1.0).withGroups(2, 1))
                    .withBalance(torchRef.withBiasUpdateSpeed(0.01))),
            Named.of("softmax, 2 groups keep 1", base.withRouting(RouterOptions.defaults().withGroups(2, 1))),
            Named.of("sequence-wise loss and z-loss", base.withBalance(torchRef.withAuxLoss(0.5, true).withZLoss(0.1))),
            Named.of("capacity factor 0.5 drops slots", base.withBalance(torchRef.withCapacityFactor(0.5))));
    }

    /**
     * The parameter checks cost 2 forwards per weight element, so they cover softmax with the Switch loss,
     * sigmoid with groups and the bias, and the sequence-wise loss with the z-loss; MoeTorchParityTest compares
     * the parameter gradients of every case with PyTorch's.
     */
    static Stream<Named<MoeConfig>> parameterCases() {
        return cases().filter(c -> c.getName().startsWith("softmax top-2") || c.getName().contains("groups of 3")
            || c.getName().startsWith("sequence-wise"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientWithRespectToInputMatchesCentralDifferences(MoeConfig c) {
        for (boolean batched : new boolean[] {true, false}) {
            ExpertBatch.forced = batched;
            try {
                inputGradient(c);
            } finally {
                ExpertBatch.forced = null;
            }
        }
    }

    private static void inputGradient(MoeConfig c) {
        MixtureOfExperts moe = layer(c);
        Tensor r = MoeFixtures.randn(5, B, T, HIDDEN);
        GradCase gc = GradCase.of(in -> objective(moe, in[0], r), shape(B, T, HIDDEN));
        Tensor[] inputs = gc.inputs(new SplittableRandom(3));
        assertAwayFromTies(moe, inputs[0]);
        GradCheck.assertMatches(gc.fn(), GradCheckOptions.defaults(), inputs);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("parameterCases")
    void gradientWithRespectToGateAndExpertWeightsMatchesCentralDifferences(MoeConfig c) {
        ExpertBatch.forced = true;   // MoeTorchParityTest checks both paths' weight gradients against PyTorch's
        try {
            weightGradients(c);
        } finally {
            ExpertBatch.forced = null;
        }
    }

    private static void weightGradients(MoeConfig c) {
        MixtureOfExperts moe = layer(c);
        Tensor x = MoeFixtures.randn(4, B, T, HIDDEN).requiresGrad(false);
        Tensor r = MoeFixtures.randn(5, B, T, HIDDEN);
        assertAwayFromTies(moe, x);
        ModuleGradCheck.assertMatches(moe, () -> objective(moe, x, r));
    }

    static MixtureOfExperts layer(MoeConfig c) {
        MixtureOfExperts moe = MoeFixtures.layer(c, 7);
        if (moe.gate().bias() != null) {
            moe.updateBias(new long[] {5, 0, 3, 1, 2, 1});   // a non-zero bias
        }
        return moe;
    }

    static Tensor objective(MixtureOfExperts moe, Tensor x, Tensor r) {
        MoeOutput out = moe.forward(x);
        return add(sum(mul(out.hidden(), r)), mulScalar(out.balanceLoss(), 10));
    }

    static void assertAwayFromTies(MixtureOfExperts moe, Tensor x) {
        double margin = MoeFixtures.routingMargin(moe, x);
        assertTrue(margin > 1e-3, "inputs too close to a routing tie for a finite-difference check: margin " + margin);
    }
}
