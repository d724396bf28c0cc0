// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

import spindle.layers.Check;

/**
 * Sizes and routing options of one MoE layer. Error messages name the Hugging Face {@code config.json} key
 * of the field ({@code n_routed_experts}, {@code num_experts_per_tok}, ...); the keys without a DeepSeek
 * equivalent are {@code router_z_loss_coef} (Switch Transformers), {@code capacity_factor} and
 * {@code bias_update_speed} (the gamma of DeepSeek-V3's auxiliary-loss-free balancing).
 *
 * @param hidden hidden_size
 * @param nRoutedExperts n_routed_experts (E)
 * @param nSharedExperts n_shared_experts; 0 means none. They form one SwiGLU of width
 *     moeIntermediateSize * nSharedExperts that every token goes through
 * @param topK num_experts_per_tok (K)
 * @param moeIntermediateSize moe_intermediate_size, the width of each routed expert
 * @param scoring scoring_func
 * @param normTopkProb norm_topk_prob: the K chosen scores are divided by their sum
 * @param routedScalingFactor routed_scaling_factor, applied to the routing weights after normalisation
 * @param nGroup n_group; the experts are split into this many equal groups
 * @param topkGroup topk_group; a token picks its K experts only from its topkGroup best groups
 * @param auxLossAlpha aux_loss_alpha; 0 disables the Switch / sequence-wise balance loss
 * @param seqAux seq_aux: the balance loss is computed per sequence and averaged (DeepSeek-V3)
 * @param zLossCoef router_z_loss_coef; 0 disables the router z-loss
 * @param capacityFactor capacity_factor; 0 means no capacity limit
 * @param biasUpdateSpeed bias_update_speed (gamma); 0 means no loss-free balancing bias
 */
public record MoeConfig(int hidden, int nRoutedExperts, int nSharedExperts, int topK, int moeIntermediateSize,
                        RouterScore scoring, boolean normTopkProb, double routedScalingFactor, int nGroup,
                        int topkGroup, double auxLossAlpha, boolean seqAux, double zLossCoef, double capacityFactor,
                        double biasUpdateSpeed) {
    public MoeConfig {
        Check.positive(hidden, "hidden_size");
        Check.positive(nRoutedExperts, "n_routed_experts");
        if (nSharedExperts < 0) {
            throw new IllegalArgumentException("n_shared_experts must be >= 0 but is " + nSharedExperts);
        }
        Check.positive(moeIntermediateSize, "moe_intermediate_size");
        if (topK < 1 || topK > nRoutedExperts) {
            throw new IllegalArgumentException("num_experts_per_tok must be in [1, n_routed_experts = "
                + nRoutedExperts + "] but is " + topK);
        }
        if (scoring == null) {
            throw new IllegalArgumentException("scoring_func must be one of softmax, sigmoid but is null");
        }
        Check.positive(nGroup, "n_group");
        Check.divisible(nRoutedExperts, "n_routed_experts", nGroup, "n_group");
        if (topkGroup < 1 || topkGroup > nGroup) {
            throw new IllegalArgumentException("topk_group must be in [1, n_group = " + nGroup + "] but is " + topkGroup);
        }
        if (topkGroup * (nRoutedExperts / nGroup) < topK) {
            throw new IllegalArgumentException("topk_group (" + topkGroup + ") groups of n_routed_experts / n_group = "
                + nRoutedExperts / nGroup + " experts hold fewer than num_experts_per_tok = " + topK + " experts");
        }
        if (!(routedScalingFactor > 0) || Double.isInfinite(routedScalingFactor)) {
            throw new IllegalArgumentException("routed_scaling_factor must be positive and finite but is "
                + routedScalingFactor);
        }
        nonNegative(auxLossAlpha, "aux_loss_alpha");
        nonNegative(zLossCoef, "router_z_loss_coef");
        nonNegative(capacityFactor, "capacity_factor");
        nonNegative(biasUpdateSpeed, "bias_update_speed");
    }

    /**
     * The configuration of the benchmark model and of torch_ref.py's MoE: softmax scores, norm_topk_prob true,
     * routed_scaling_factor 1, one group, aux_loss_alpha 0.01 (batch-wise), no z-loss, no capacity limit and
     * no loss-free bias.
     */
    public static MoeConfig defaults(int hidden, int nRoutedExperts, int nSharedExperts, int topK,
                                     int moeIntermediateSize) {
        return new MoeConfig(hidden, nRoutedExperts, nSharedExperts, topK, moeIntermediateSize, RouterScore.SOFTMAX,
            true, 1.0, 1, 1, 0.01, false, 0.0, 0.0, 0.0);
    }

    /** This configuration with scoring_func, norm_topk_prob and routed_scaling_factor replaced. */
    public MoeConfig withScoring(RouterScore s, boolean normTopk, double scalingFactor) {
        return new MoeConfig(hidden, nRoutedExperts, nSharedExperts, topK, moeIntermediateSize, s, normTopk,
            scalingFactor, nGroup, topkGroup, auxLossAlpha, seqAux, zLossCoef, capacityFactor, biasUpdateSpeed);
    }

    /** This configuration with n_group and topk_group replaced. */
    public MoeConfig withGroups(int groups, int topGroups) {
        return new MoeConfig(hidden, nRoutedExperts, nSharedExperts, topK, moeIntermediateSize, scoring, normTopkProb,
            routedScalingFactor, groups, topGroups, auxLossAlpha, seqAux, zLossCoef, capacityFactor, biasUpdateSpeed);
    }

    /** This configuration with the balance losses replaced: aux_loss_alpha, seq_aux and router_z_loss_coef. */
    public MoeConfig withLosses(double alpha, boolean perSequence, double zCoef) {
        return new MoeConfig(hidden, nRoutedExperts, nSharedExperts, topK, moeIntermediateSize, scoring, normTopkProb,
            routedScalingFactor, nGroup, topkGroup, alpha, perSequence, zCoef, capacityFactor, biasUpdateSpeed);
    }

    /** This configuration with capacity_factor replaced (0: no limit). */
    public MoeConfig withCapacityFactor(double factor) {
        return new MoeConfig(hidden, nRoutedExperts, nSharedExperts, topK, moeIntermediateSize, scoring, normTopkProb,
            routedScalingFactor, nGroup, topkGroup, auxLossAlpha, seqAux, zLossCoef, factor, biasUpdateSpeed);
    }

    /** This configuration with bias_update_speed replaced (0: no loss-free bias). */
    public MoeConfig withBiasUpdateSpeed(double gamma) {
        return new MoeConfig(hidden, nRoutedExperts, nSharedExperts, topK, moeIntermediateSize, scoring, normTopkProb,
            routedScalingFactor, nGroup, topkGroup, auxLossAlpha, seqAux, zLossCoef, capacityFactor, gamma);
    }

    /** Slots one expert may take from {@code tokens} tokens: ceil(capacity_factor * tokens * K / E); 0 = unlimited. */
    public long capacity(long tokens) {
        return capacityFactor == 0 ? 0 : (long) Math.ceil(capacityFactor * tokens * topK / nRoutedExperts);
    }

    private static void nonNegative(double v, String key) {
        if (!(v >= 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException(key + " must be >= 0 and finite but is " + v);
        }
    }
}
