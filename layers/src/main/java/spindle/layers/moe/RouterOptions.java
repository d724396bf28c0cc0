// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

import spindle.layers.Check;

/**
 * How the gate scores and picks experts, under the DeepSeek {@code config.json} keys. {@link #defaults()} holds
 * the value a config without the key gets.
 *
 * @param scoring scoring_func (softmax)
 * @param normTopkProb norm_topk_prob (true): the K chosen scores are divided by their sum
 * @param routedScalingFactor routed_scaling_factor (1), applied to the routing weights after normalisation
 * @param nGroup n_group (1); the experts are split into this many equal groups
 * @param topkGroup topk_group (1); a token picks its K experts only from its topkGroup best groups
 */
public record RouterOptions(RouterScore scoring, boolean normTopkProb, double routedScalingFactor, int nGroup,
                            int topkGroup) {
    public RouterOptions {
        if (scoring == null) {
            throw new IllegalArgumentException("scoring_func must be one of softmax, sigmoid but is null");
        }
        if (!(routedScalingFactor > 0) || Double.isInfinite(routedScalingFactor)) {
            throw new IllegalArgumentException("routed_scaling_factor must be positive and finite but is "
                + routedScalingFactor);
        }
        Check.positive(nGroup, "n_group");
        if (topkGroup < 1 || topkGroup > nGroup) {
            throw new IllegalArgumentException("topk_group must be in [1, n_group = " + nGroup + "] but is "
                + topkGroup);
        }
    }

    /** Softmax scores, norm_topk_prob true, routed_scaling_factor 1, one group. */
    public static RouterOptions defaults() {
        return new RouterOptions(RouterScore.SOFTMAX, true, 1.0, 1, 1);
    }

    /** These options with scoring_func, norm_topk_prob and routed_scaling_factor replaced. */
    public RouterOptions withScoring(RouterScore s, boolean normTopk, double scalingFactor) {
        return new RouterOptions(s, normTopk, scalingFactor, nGroup, topkGroup);
    }

    /** These options with n_group and topk_group replaced. */
    public RouterOptions withGroups(int groups, int topGroups) {
        return new RouterOptions(scoring, normTopkProb, routedScalingFactor, groups, topGroups);
    }
}
