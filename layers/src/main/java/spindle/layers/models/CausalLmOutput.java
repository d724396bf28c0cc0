// SPDX-License-Identifier: Apache-2.0
package spindle.layers.models;

import spindle.autograd.Tensor;

/**
 * A causal LM's result: logits [B, T, vocab], the MoE balance loss summed over layers (a zero scalar for a
 * dense model) and tokens routed to each expert, per MoE layer (empty for a dense model).
 */
public record CausalLmOutput(Tensor logits, Tensor balanceLoss, long[][] tokensPerExpert) {}
