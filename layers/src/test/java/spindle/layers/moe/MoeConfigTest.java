// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class MoeConfigTest {

    @Test
    void defaultsAreThoseOfTorchRefAndTheBenchmarkConfig() {
        MoeConfig c = MoeConfig.defaults(256, 8, 1, 2, 128);
        assertEquals(RouterScore.SOFTMAX, c.scoring());
        assertTrue(c.normTopkProb());
        assertEquals(1.0, c.routedScalingFactor());
        assertEquals(1, c.nGroup());
        assertEquals(1, c.topkGroup());
        assertEquals(0.01, c.auxLossAlpha());
        assertFalse(c.seqAux());
        assertEquals(0.0, c.zLossCoef());
        assertEquals(0.0, c.capacityFactor());
        assertEquals(0.0, c.biasUpdateSpeed());
    }

    @Test
    void capacityIsTheCeilingOfFactorTimesTokensTimesKOverE() {
        MoeConfig c = MoeConfig.defaults(4, 6, 0, 2, 3).withCapacityFactor(1.25);
        assertEquals(9, c.capacity(20));   // 1.25 * 20 * 2 / 6 = 8.33
        assertEquals(0, c.withCapacityFactor(0).capacity(20));
    }

    static Stream<Arguments> invalid() {
        MoeConfig ok = MoeConfig.defaults(4, 6, 1, 2, 3);
        return Stream.of(
            bad("K above E", "num_experts_per_tok", () -> MoeConfig.defaults(4, 6, 1, 7, 3)),
            bad("K zero", "num_experts_per_tok", () -> MoeConfig.defaults(4, 6, 1, 0, 3)),
            bad("no experts", "n_routed_experts", () -> MoeConfig.defaults(4, 0, 1, 1, 3)),
            bad("negative shared experts", "n_shared_experts", () -> MoeConfig.defaults(4, 6, -1, 2, 3)),
            bad("zero width", "moe_intermediate_size", () -> MoeConfig.defaults(4, 6, 1, 2, 0)),
            bad("zero hidden", "hidden_size", () -> MoeConfig.defaults(0, 6, 1, 2, 3)),
            bad("groups do not divide E", "n_group", () -> ok.withGroups(4, 1)),
            bad("topk_group above n_group", "topk_group", () -> ok.withGroups(3, 4)),
            bad("kept groups hold fewer than K experts", "topk_group",
                () -> MoeConfig.defaults(4, 6, 1, 3, 3).withGroups(3, 1)),
            bad("no scoring", "scoring_func", () -> ok.withScoring(null, true, 1)),
            bad("zero scaling", "routed_scaling_factor", () -> ok.withScoring(RouterScore.SIGMOID, true, 0)),
            bad("negative alpha", "aux_loss_alpha", () -> ok.withLosses(-0.1, false, 0)),
            bad("NaN z-loss", "router_z_loss_coef", () -> ok.withLosses(0.01, false, Double.NaN)),
            bad("negative capacity", "capacity_factor", () -> ok.withCapacityFactor(-1)),
            bad("negative bias speed", "bias_update_speed", () -> ok.withBiasUpdateSpeed(-1e-3)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalid")
    void rejectsInvalidConfigNamingTheHfKey(String key, Executable build) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build);
        assertTrue(e.getMessage().contains(key), e.getMessage());
    }

    static Arguments bad(String name, String key, Executable build) {
        return Arguments.of(Named.of(name, key), build);
    }
}
