// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

/**
 * How router logits become expert scores, Hugging Face's {@code scoring_func}: SOFTMAX over the experts
 * (DeepSeek-V2, Switch) or an independent SIGMOID per expert (DeepSeek-V3).
 */
public enum RouterScore {
    SOFTMAX,
    SIGMOID
}
