// SPDX-License-Identifier: Apache-2.0
package spindle.layers.attention;

import spindle.layers.Check;

/**
 * Sizes of one multi-head attention layer in Hugging Face Llama terms: hidden_size, num_attention_heads,
 * num_key_value_heads (equal to heads for MHA, 1 for MQA, a divisor in between for GQA), head_dim (heads * head_dim
 * need not equal hidden_size), biases on the q/k/v projections ({@code bias}) and on o_proj ({@code outputBias}):
 * Llama's attention_bias sets both, Qwen2 has the first only.
 */
public record AttentionDims(int hidden, int heads, int kvHeads, int headDim, boolean bias, boolean outputBias) {
    public AttentionDims {
        Check.positive(hidden, "hidden_size");
        Check.positive(heads, "num_attention_heads");
        Check.positive(kvHeads, "num_key_value_heads");
        Check.positive(headDim, "head_dim");
        Check.divisible(heads, "num_attention_heads", kvHeads, "num_key_value_heads");
    }

    /** Sizes with the same bias choice for q, k, v and o (Llama's attention_bias). */
    public AttentionDims(int hidden, int heads, int kvHeads, int headDim, boolean bias) {
        this(hidden, heads, kvHeads, headDim, bias, bias);
    }

    /** Query heads that share one key/value head. */
    public int groupSize() {
        return heads / kvHeads;
    }
}
