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
import org.nd4j.linalg.api.buffer.DataType;
import spindle.data.HfConfig;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;

class MoeConfigTest {
    /** A DeepSeek-V3 config.json with the MoE sizes only, plus {@code extra} keys. */
    static HfConfig deepseek(String extra) {
        return HfConfig.parse("""
            {"model_type": "deepseek_v3", "vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 2,
             "num_attention_heads": 2, "kv_lora_rank": 8, "qk_nope_head_dim": 4, "qk_rope_head_dim": 4,
             "v_head_dim": 4, "intermediate_size": 24, "moe_intermediate_size": 8, "n_routed_experts": 4,
             "num_experts_per_tok": 2, "first_k_dense_replace": 1, "max_position_embeddings": 32%s}"""
            .formatted(extra), "config.json");
    }

    static MoeConfig readBack(HfConfig config) {
        CausalLm model = CausalLms.fromHfConfig(config, DataType.DOUBLE, 0);
        return model.namedModules().values().stream().filter(m -> m instanceof MixtureOfExperts)
            .map(m -> ((MixtureOfExperts) m).config()).findFirst().orElseThrow();
    }

    @Test
    void defaultsAreThoseOfDeepSeekConfigJson() {
        RouterOptions r = RouterOptions.defaults();
        assertEquals(RouterScore.SOFTMAX, r.scoring());
        assertTrue(r.normTopkProb());
        assertEquals(1.0, r.routedScalingFactor());
        assertEquals(1, r.nGroup());
        assertEquals(1, r.topkGroup());
        BalanceOptions b = BalanceOptions.defaults();
        assertEquals(0.001, b.auxLossAlpha());
        assertFalse(b.seqAux());
        assertEquals(0.0, b.zLossCoef());
        assertEquals(0.0, b.capacityFactor());
        assertEquals(0.0, b.biasUpdateSpeed());
        assertEquals(0.001, BalanceOptions.DEFAULT_BIAS_UPDATE_SPEED);
    }

    @Test
    void aConfigJsonWithoutTheOptionalKeysGetsTheRecordsDefaults() {
        ExpertDims dims = new ExpertDims(16, 4, 0, 2, 8);
        assertEquals(MoeConfig.of(dims), readBack(deepseek("")));
        assertEquals(MoeConfig.of(dims).withBalance(BalanceOptions.defaults()
                .withBiasUpdateSpeed(BalanceOptions.DEFAULT_BIAS_UPDATE_SPEED)),
            readBack(deepseek(", \"topk_method\": \"noaux_tc\"")));
    }

    @Test
    void capacityIsTheCeilingOfFactorTimesTokensTimesKOverE() {
        MoeConfig c = MoeFixtures.config(4, 6, 0, 2, 3).withBalance(MoeFixtures.TORCH_REF.withCapacityFactor(1.25));
        assertEquals(9, c.capacity(20));   // 1.25 * 20 * 2 / 6 = 8.33
        assertEquals(0, c.withBalance(MoeFixtures.TORCH_REF).capacity(20));
    }

    static Stream<Arguments> invalid() {
        MoeConfig ok = MoeFixtures.config(4, 6, 1, 2, 3);
        RouterOptions r = RouterOptions.defaults();
        BalanceOptions b = BalanceOptions.defaults();
        return Stream.of(
            bad("K above E", "num_experts_per_tok", () -> new ExpertDims(4, 6, 1, 7, 3)),
            bad("K zero", "num_experts_per_tok", () -> new ExpertDims(4, 6, 1, 0, 3)),
            bad("no experts", "n_routed_experts", () -> new ExpertDims(4, 0, 1, 1, 3)),
            bad("negative shared experts", "n_shared_experts", () -> new ExpertDims(4, 6, -1, 2, 3)),
            bad("zero width", "moe_intermediate_size", () -> new ExpertDims(4, 6, 1, 2, 0)),
            bad("zero hidden", "hidden_size", () -> new ExpertDims(0, 6, 1, 2, 3)),
            bad("groups do not divide E", "n_group", () -> ok.withRouting(r.withGroups(4, 1))),
            bad("topk_group above n_group", "topk_group", () -> r.withGroups(3, 4)),
            bad("kept groups hold fewer than K experts", "topk_group",
                () -> MoeFixtures.config(4, 6, 1, 3, 3).withRouting(r.withGroups(3, 1))),
            bad("no scoring", "scoring_func", () -> r.withScoring(null, true, 1)),
            bad("zero scaling", "routed_scaling_factor", () -> r.withScoring(RouterScore.SIGMOID, true, 0)),
            bad("negative alpha", "aux_loss_alpha", () -> b.withAuxLoss(-0.1, false)),
            bad("NaN z-loss", "router_z_loss_coef", () -> b.withZLoss(Double.NaN)),
            bad("negative capacity", "moe_capacity_factor", () -> b.withCapacityFactor(-1)),
            bad("negative bias speed", "aux_free_bias_update_speed", () -> b.withBiasUpdateSpeed(-1e-3)),
            bad("config.json capacity", "moe_capacity_factor", () -> readBack(deepseek(", \"moe_capacity_factor\": -1"))),
            bad("config.json bias speed", "aux_free_bias_update_speed",
                () -> readBack(deepseek(", \"topk_method\": \"noaux_tc\", \"aux_free_bias_update_speed\": -1"))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalid")
    void rejectsInvalidConfigNamingTheConfigJsonKey(String key, Executable build) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build);
        assertTrue(e.getMessage().contains(key), e.getMessage());
    }

    static Arguments bad(String name, String key, Executable build) {
        return Arguments.of(Named.of(name, key), build);
    }
}
