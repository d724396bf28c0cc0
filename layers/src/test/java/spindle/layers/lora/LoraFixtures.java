// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import spindle.data.HfConfig;

/** Tiny Hugging Face configs for adapter tests: a few layers and heads, so float64 checks run in seconds. */
final class LoraFixtures {
    private LoraFixtures() {}

    static String llamaJson(boolean tied) {
        return """
            {"model_type": "llama", "vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 24,
             "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "max_position_embeddings": 32,
             "initializer_range": 0.2, "tie_word_embeddings": %s}""".formatted(tied);
    }

    /** MLA with q_lora_rank, one dense layer, then a MoE layer with 4 routed and 1 shared expert. */
    static String deepseekJson() {
        return """
            {"model_type": "deepseek_v3", "vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 2,
             "num_attention_heads": 2, "q_lora_rank": 8, "kv_lora_rank": 8, "qk_nope_head_dim": 4,
             "qk_rope_head_dim": 4, "v_head_dim": 4, "intermediate_size": 24, "moe_intermediate_size": 8,
             "n_routed_experts": 4, "n_shared_experts": 1, "num_experts_per_tok": 2, "first_k_dense_replace": 1,
             "scoring_func": "softmax", "norm_topk_prob": true, "aux_loss_alpha": 0.01, "seq_aux": false,
             "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "max_position_embeddings": 32,
             "initializer_range": 0.2, "tie_word_embeddings": false}""";
    }

    static HfConfig llama(boolean tied) {
        return HfConfig.parse(llamaJson(tied), "tiny llama");
    }

    static HfConfig deepseek() {
        return HfConfig.parse(deepseekJson(), "tiny deepseek");
    }
}
