// SPDX-License-Identifier: Apache-2.0
package spindle.layers.attention;

import spindle.layers.Check;

/**
 * Sizes of one Multi-head Latent Attention layer, named after the Hugging Face DeepSeek-V3
 * {@code config.json} keys they come from: hidden_size, num_attention_heads, q_lora_rank (0 where the
 * config has null: queries come from a plain q_proj), kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim,
 * v_head_dim and rms_norm_eps (of the two latent RMSNorms).
 */
public record MlaDims(int hidden, int heads, int qLoraRank, int kvLoraRank, int qkNopeHeadDim, int qkRopeHeadDim,
                      int vHeadDim, double rmsNormEps) {
    public MlaDims {
        Check.positive(hidden, "hidden_size");
        Check.positive(heads, "num_attention_heads");
        if (qLoraRank < 0) {
            throw new IllegalArgumentException("q_lora_rank must be positive, or 0 (null in config.json) for a plain"
                + " q_proj, but is " + qLoraRank);
        }
        Check.positive(kvLoraRank, "kv_lora_rank");
        Check.positive(qkNopeHeadDim, "qk_nope_head_dim");
        Check.even(Check.positive(qkRopeHeadDim, "qk_rope_head_dim"), "qk_rope_head_dim");
        Check.positive(vHeadDim, "v_head_dim");
        if (!(rmsNormEps > 0)) {
            throw new IllegalArgumentException("rms_norm_eps must be positive but is " + rmsNormEps);
        }
    }

    /** Query and key width per head: qk_nope_head_dim + qk_rope_head_dim. */
    public int qkHeadDim() {
        return qkNopeHeadDim + qkRopeHeadDim;
    }

    /** Numbers the absorbed form caches per token: the latent c_kv and the shared roped key, kv_lora_rank + qk_rope_head_dim. */
    public int cachedPerToken() {
        return kvLoraRank + qkRopeHeadDim;
    }

    /** True when queries go through the low-rank q_a_proj, q_a_layernorm, q_b_proj path. */
    public boolean hasQueryLora() {
        return qLoraRank > 0;
    }
}
