// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

import spindle.autograd.Tensor;

/**
 * One MoE layer's result.
 *
 * @param hidden the mixed hidden state [B, T, hidden]
 * @param balanceLoss a scalar: the sum of the enabled balance losses (already scaled by their coefficients),
 *     zero when none is enabled; add it to the training loss
 * @param tokensPerExpert [E] slots routed to each expert in this forward (before capacity drops); in training the
 *     gate also adds them to the load that moves its loss-free balancing bias after the optimizer step
 */
public record MoeOutput(Tensor hidden, Tensor balanceLoss, long[] tokensPerExpert) {}
