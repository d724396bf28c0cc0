// SPDX-License-Identifier: Apache-2.0
package spindle.layers.attention;

import spindle.layers.Check;

/**
 * Sizes of one multi-head attention layer in Hugging Face Llama terms: hidden_size, num_attention_heads,
 * num_key_value_heads (equal to heads for MHA, 1 for MQA, a divisor in between for GQA), head_dim, and
 * attention_bias (biases on q/k/v/o projections).
 */
public record AttentionDims(int hidden, int heads, int kvHeads, int headDim, boolean bias) {
    public AttentionDims {
        Check.positive(hidden, "hidden_size");
        Check.positive(heads, "num_attention_heads");
        Check.positive(kvHeads, "num_key_value_heads");
        Check.positive(headDim, "head_dim");
        Check.divisible(heads, "num_attention_heads", kvHeads, "num_key_value_heads");
    }

    /** Query heads that share one key/value head. */
    public int groupSize() {
        return heads / kvHeads;
    }
}
