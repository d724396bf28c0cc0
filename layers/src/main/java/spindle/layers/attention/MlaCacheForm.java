// SPDX-License-Identifier: Apache-2.0
package spindle.layers.attention;

/**
 * How {@link MultiHeadLatentAttention} caches past tokens for generation. Both give the same output.
 */
public enum MlaCacheForm {
    /** Full per-head keys (nope and rope parts) and values: heads * (qk_head_dim + v_head_dim) per token. */
    NAIVE,
    /**
     * Only the normalised latent c_kv and the roped shared key k_pe: kv_lora_rank + qk_rope_head_dim per token.
     * kv_b_proj's key half is absorbed into the query and its value half applied after attention
     * (DeepSeek-V2, section 2.1.2), so attention runs as one shared key/value head.
     */
    ABSORBED
}
