// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static spindle.autograd.ops.Reductions.sum;
import static spindle.layers.moe.MoeFixtures.tensor;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.layers.Init;
import spindle.layers.LinearFactory;

/** Names, routing facts and edge cases of the MoE layer, against hand-built gates with known choices. */
class MixtureOfExpertsTest {
    /** Gate for hidden 2, E 4: expert 0 likes +x0, 1 likes +x1, 2 likes -x0, 3 likes -x1. */
    static final double[][] COMPASS = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};

    @Test
    void membersHaveHuggingFaceNames() {
        MixtureOfExperts moe = MoeFixtures.layer(MoeFixtures.config(4, 3, 2, 2, 5), 1);
        List<String> expected = new ArrayList<>(List.of("gate.weight"));
        for (int e = 0; e < 3; e++) {
            for (String p : List.of("gate_proj", "up_proj", "down_proj")) {
                expected.add("experts." + e + "." + p + ".weight");
            }
        }
        expected.addAll(List.of("shared_experts.gate_proj.weight", "shared_experts.up_proj.weight",
            "shared_experts.down_proj.weight"));
        assertEquals(expected, new ArrayList<>(moe.stateDict().keySet()));   // no bias buffer: torch_ref loads strictly
        assertArrayEquals(new long[] {10, 4}, moe.namedParameters().get("shared_experts.gate_proj.weight").shape());
        assertArrayEquals(new long[] {3, 4}, moe.namedParameters().get("gate.weight").shape());
        assertNull(MoeFixtures.layer(MoeFixtures.config(4, 3, 0, 2, 5), 1).sharedExperts());
    }

    @Test
    void lossFreeBiasIsAPersistentBufferOnlyWhenEnabled() {
        MoeConfig c = MoeFixtures.config(4, 3, 0, 2, 5).withBalance(MoeFixtures.TORCH_REF.withBiasUpdateSpeed(1e-3));
        MixtureOfExperts moe = MoeFixtures.layer(c, 1);
        assertTrue(moe.stateDict().containsKey("gate.e_score_correction_bias"));
        assertEquals(0, moe.namedParameters().keySet().stream().filter(k -> k.contains("bias")).count());
        assertNull(MoeFixtures.layer(MoeFixtures.config(4, 3, 0, 2, 5), 1).gate().bias());
    }

    @Test
    void tokensPerExpertCountsEveryRoutedSlot() {
        MixtureOfExperts moe = MoeFixtures.layer(MoeFixtures.config(2, 4, 1, 2, 3), 2);
        MoeFixtures.setGate(moe, COMPASS);
        // top-2 per token: {0,1} {1,0} {2,1} {3,0} {0,1} {3,2}
        Tensor x = tensor(new double[] {3, 0.5, 0.5, 3, -3, 0.5, 0.5, -3, 2, 1, -1, -2}, 2, 3, 2);
        assertArrayEquals(new long[] {4, 4, 2, 2}, moe.forward(x).tokensPerExpert());
    }

    @Test
    void groupLimitedRoutingUsesGroupMaxForSoftmaxAndTopTwoSumForSigmoid() {
        double[][] identity = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
        Tensor x = tensor(new double[] {2, 1.9, 2.5, -3}, 1, 1, 4);   // logits = x
        MoeConfig c = MoeFixtures.config(4, 4, 0, 2, 3).withRouting(RouterOptions.defaults().withGroups(2, 1));
        MixtureOfExperts softmax = MoeFixtures.layer(c, 3);
        MoeFixtures.setGate(softmax, identity);
        // group maxima 2 and 2.5: group {2, 3} wins, so both of its experts are taken (ungrouped: {2, 0})
        assertArrayEquals(new long[] {0, 0, 1, 1}, softmax.forward(x).tokensPerExpert());
        MixtureOfExperts sigmoid = MoeFixtures.layer(c.withRouting(MoeFixtures.sigmoid(true, 1).withGroups(2, 1)), 3);
        MoeFixtures.setGate(sigmoid, identity);
        // top-2 sums: s(2) + s(1.9) = 1.75 beats s(2.5) + s(-3) = 0.97, so group {0, 1} wins
        assertArrayEquals(new long[] {1, 1, 0, 0}, sigmoid.forward(x).tokensPerExpert());
    }

    @Test
    void expertWithoutTokensGetsZeroGradientNotNull() {
        MixtureOfExperts moe = MoeFixtures.layer(MoeFixtures.config(2, 4, 1, 1, 3), 4);
        MoeFixtures.setGate(moe, COMPASS);
        Tensor x = tensor(new double[] {3, 0.5, 0.5, 3, -3, 0.5, 2, 1}, 2, 2, 2);   // experts 0, 1, 2, 0
        MoeOutput out = moe.forward(x);
        assertEquals(0, out.tokensPerExpert()[3]);
        sum(out.hidden()).backward();
        moe.experts().get(3).namedParameters().forEach((name, p) -> {
            assertNotNull(p.grad(), "experts.3." + name + " has no gradient");
            assertArrayEquals(p.shape(), p.grad().shape());
            assertArrayEquals(new double[(int) p.grad().length()], p.grad().dup('c').data().asDouble(), "experts.3." + name);
        });
        INDArray used = moe.experts().get(0).namedParameters().get("down_proj.weight").grad();
        assertTrue(used.amaxNumber().doubleValue() > 0, "a used expert gets a real gradient");
    }

    @Test
    void capacityDropsTheLatestTokensInTrainingOnly() {
        MoeConfig c = MoeFixtures.config(2, 2, 0, 1, 3).withBalance(MoeFixtures.TORCH_REF.withCapacityFactor(1.0));
        MixtureOfExperts moe = MoeFixtures.layer(c, 5);
        MoeFixtures.setGate(moe, new double[][] {{1, 0}, {-1, 0}});
        double[] rows = {3, 0, 2, 0.5, 4, 1, 1, -1};   // every token prefers expert 0; capacity ceil(4 * 1 / 2) = 2
        Tensor x = tensor(rows, 2, 2, 2);
        MoeOutput train = moe.forward(x);
        moe.eval();
        MoeOutput eval = moe.forward(x);
        assertArrayEquals(new long[] {4, 0}, train.tokensPerExpert(), "counts are taken before the drop");
        for (int token = 0; token < 4; token++) {
            double[] alone = expert0(moe, rows[2 * token], rows[2 * token + 1]);   // weight 1: K = 1, normalised
            double[] expectedTrain = token < 2 ? alone : new double[] {0, 0};
            assertArrayEquals(expectedTrain, row(train, token), 1e-14, "training, token " + token);
            assertArrayEquals(alone, row(eval, token), 1e-14, "eval, token " + token);
        }
    }

    @Test
    void lossFreeBiasChangesTheChoiceButNotTheWeight() {
        MoeConfig c = MoeFixtures.config(2, 4, 0, 1, 3).withRouting(MoeFixtures.sigmoid(false, 1))
            .withBalance(MoeFixtures.TORCH_REF.withBiasUpdateSpeed(1.0));
        MixtureOfExperts moe = MoeFixtures.layer(c, 6);
        MoeFixtures.setGate(moe, COMPASS);
        moe.updateBias(new long[] {10, 0, 0, 0});   // [-1, 1, 1, 1] re-centred to [-1.5, 0.5, 0.5, 0.5]
        assertArrayEquals(new double[] {-1.5, 0.5, 0.5, 0.5}, moe.gate().bias().toDoubleVector(), 1e-15);
        // logits [1, 0.5, -1, -0.5]: expert 0 has the best score, expert 1 the best biased key
        MoeOutput out = moe.forward(tensor(new double[] {1, 0.5}, 1, 1, 2));
        assertArrayEquals(new long[] {0, 1, 0, 0}, out.tokensPerExpert());
        double w = 1 / (1 + Math.exp(-0.5));
        double[] alone = expertOutput(moe, 1, 1, 0.5);
        assertArrayEquals(new double[] {w * alone[0], w * alone[1]}, row(out, 0), 1e-14);
    }

    @Test
    void updateBiasMovesByGammaTowardsTheMeanLoadAndRecentres() {
        MixtureOfExperts moe = MoeFixtures.layer(biased(0.1), 7);
        moe.updateBias(new long[] {3, 1, 2, 2});   // mean 2: signs -, +, 0, 0
        assertArrayEquals(new double[] {-0.1, 0.1, 0, 0}, moe.gate().bias().toDoubleVector(), 1e-15);
        moe.updateBias(new long[] {0, 0, 0, 8});   // [0, 0.2, 0.1, -0.1], mean 0.05
        assertArrayEquals(new double[] {-0.05, 0.15, 0.05, -0.15}, moe.gate().bias().toDoubleVector(), 1e-15);
    }

    @Test
    void afterOptimizerStepMovesTheBiasByTheTrainingForwardsSinceTheLastStep() {
        MoeConfig c = biased(0.1);
        MixtureOfExperts moe = MoeFixtures.layer(c, 7);
        MoeFixtures.setGate(moe, COMPASS);
        long[] first = moe.forward(tensor(new double[] {3, 0.5, 0.5, 3, 2, 1}, 1, 3, 2)).tokensPerExpert();
        moe.eval();
        moe.forward(tensor(new double[] {-3, 0.5}, 1, 1, 2));   // evaluation: not counted
        moe.train();
        try (GradMode.Scope off = GradMode.disable()) {
            moe.forward(tensor(new double[] {0.5, -3}, 1, 1, 2));   // no gradients, so no training step: not counted
        }
        long[] second = moe.forward(tensor(new double[] {-3, 0.5}, 1, 1, 2)).tokensPerExpert();
        assertArrayEquals(new long[] {3, 3, 0, 0}, first);
        assertArrayEquals(new long[] {0, 1, 1, 0}, second);
        assertArrayEquals(new long[] {3, 4, 1, 0}, moe.gate().pendingLoad());

        moe.gate().afterOptimizerStep();
        MixtureOfExperts byHand = MoeFixtures.layer(c, 7);
        byHand.updateBias(new long[] {3, 4, 1, 0});
        assertArrayEquals(byHand.gate().bias().toDoubleVector(), moe.gate().bias().toDoubleVector(), 0.0);
        assertArrayEquals(new long[4], moe.gate().pendingLoad(), "the step's load is cleared");
        moe.gate().afterOptimizerStep();   // no training forward since the last step: nothing moves
        assertArrayEquals(byHand.gate().bias().toDoubleVector(), moe.gate().bias().toDoubleVector(), 0.0);
        MixtureOfExperts plain = MoeFixtures.layer(MoeFixtures.config(2, 4, 0, 2, 3), 7);
        plain.forward(tensor(new double[] {3, 0.5}, 1, 1, 2));
        plain.gate().afterOptimizerStep();   // without loss-free balancing there is nothing to do
        assertNull(plain.gate().pendingLoad());
    }

    @Test
    void float32LayerAgreesWithItsFloat64Copy() {
        MoeConfig c = new MoeConfig(new ExpertDims(6, 6, 1, 2, 4), MoeFixtures.sigmoid(true, 2.5).withGroups(3, 2),
            new BalanceOptions(0.1, true, 0.01, 0.8, 0.01));
        MixtureOfExperts f64 = MoeFixtures.layer(c, 9);
        f64.updateBias(new long[] {9, 0, 2, 4, 1, 0});
        MixtureOfExperts f32 = new MixtureOfExperts(c, LinearFactory.plain(DataType.FLOAT, Init.zeros()), DataType.FLOAT,
            Init.zeros());
        try (GradMode.Scope off = GradMode.disable()) {
            f32.loadStateDict(f64.stateDict(), true);
        }
        Tensor x = MoeFixtures.randn(10, 2, 4, 6).requiresGrad(false);
        MoeOutput a = f64.forward(x);
        MoeOutput b = f32.forward(Tensor.of(x.value().castTo(DataType.FLOAT)));
        assertEquals(DataType.FLOAT, b.hidden().dtype());
        assertEquals(DataType.FLOAT, b.balanceLoss().dtype());
        assertArrayEquals(a.tokensPerExpert(), b.tokensPerExpert());
        assertArrayEquals(a.hidden().value().reshape(48).toDoubleVector(),
            b.hidden().value().castTo(DataType.DOUBLE).reshape(48).toDoubleVector(), 1e-5);
        assertEquals(a.balanceLoss().item(), b.balanceLoss().item(), 1e-6);
    }

    @Test
    void rejectsBadArguments() {
        MixtureOfExperts plain = MoeFixtures.layer(MoeFixtures.config(2, 4, 0, 2, 3), 8);
        IllegalStateException noBias = assertThrows(IllegalStateException.class,
            () -> plain.updateBias(new long[] {1, 1, 1, 1}));
        assertTrue(noBias.getMessage().contains("aux_free_bias_update_speed"), noBias.getMessage());
        MixtureOfExperts biased = MoeFixtures.layer(biased(0.1), 8);
        IllegalArgumentException length = assertThrows(IllegalArgumentException.class,
            () -> biased.updateBias(new long[] {1, 1, 1}));
        assertTrue(length.getMessage().contains("n_routed_experts = 4"), length.getMessage());
        IllegalArgumentException rank = assertThrows(IllegalArgumentException.class,
            () -> plain.forward(tensor(new double[] {1, 2}, 1, 2)));
        assertTrue(rank.getMessage().contains("[1, 2]") && rank.getMessage().contains("hidden_size = 2"),
            rank.getMessage());
        IllegalArgumentException width = assertThrows(IllegalArgumentException.class,
            () -> plain.forward(tensor(new double[] {1, 2, 3}, 1, 1, 3)));
        assertTrue(width.getMessage().contains("[1, 1, 3]"), width.getMessage());
    }

    /** 2 hidden, 4 experts, top-2, with the loss-free bias moving at {@code speed}. */
    static MoeConfig biased(double speed) {
        return MoeFixtures.config(2, 4, 0, 2, 3).withBalance(MoeFixtures.TORCH_REF.withBiasUpdateSpeed(speed));
    }

    static double[] row(MoeOutput out, int token) {
        INDArray y = out.hidden().value();
        return y.reshape(y.size(0) * y.size(1), y.size(2)).getRow(token).toDoubleVector();
    }

    static double[] expert0(MixtureOfExperts moe, double a, double b) {
        return expertOutput(moe, 0, a, b);
    }

    /** Expert e alone on one token [a, b]. */
    static double[] expertOutput(MixtureOfExperts moe, int e, double a, double b) {
        try (GradMode.Scope off = GradMode.disable()) {
            return moe.experts().get(e).forward(tensor(new double[] {a, b}, 1, 2)).value().toDoubleVector();
        }
    }
}
