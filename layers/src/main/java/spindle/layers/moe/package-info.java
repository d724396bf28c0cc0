// SPDX-License-Identifier: Apache-2.0
/**
 * Mixture-of-Experts layers in DeepSeek-V2/V3 terms: a {@link spindle.layers.moe.Router} that scores the
 * experts of each token and picks the top-k (optionally within the best groups, optionally shifted by the
 * loss-free balancing bias), the routed and shared SwiGLU experts of {@link spindle.layers.moe.MixtureOfExperts},
 * and the balance losses of {@link spindle.layers.moe.BalanceLoss}. A {@link spindle.layers.moe.MoeConfig} holds
 * the layer's sizes ({@code ExpertDims}), routing ({@code RouterOptions}) and balancing ({@code BalanceOptions}).
 *
 * <p>Shape letters: B batch, T sequence, N = B * T tokens, E routed experts, K experts per token, G groups.
 */
package spindle.layers.moe;
