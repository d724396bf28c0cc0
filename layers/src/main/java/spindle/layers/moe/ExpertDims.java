// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

import spindle.layers.Check;

/**
 * Sizes of one MoE layer, named after the DeepSeek {@code config.json} keys they come from.
 *
 * @param hidden hidden_size
 * @param nRoutedExperts n_routed_experts (E)
 * @param nSharedExperts n_shared_experts; 0 means none. They form one SwiGLU of width
 *     moeIntermediateSize * nSharedExperts that every token goes through
 * @param topK num_experts_per_tok (K), in [1, E]
 * @param moeIntermediateSize moe_intermediate_size, the width of each routed expert
 */
public record ExpertDims(int hidden, int nRoutedExperts, int nSharedExperts, int topK, int moeIntermediateSize) {
    public ExpertDims {
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
    }
}
