// SPDX-License-Identifier: Apache-2.0
package spindle.layers.models;

import java.util.List;
import java.util.Set;
import spindle.data.HfConfig;

/**
 * Which config.json keys Spindle reads per model family, which it leaves alone on purpose because they do not
 * change the math, and the checks that refuse a key Spindle does not compute when its value would change the math
 * (an error naming the key and the value, never a silently different model).
 */
public final class ConfigKeys {
    /** Keys that describe a checkpoint or its tooling, not the model's math. */
    public static final Set<String> INFORMATIONAL = Set.of("architectures", "torch_dtype", "transformers_version",
        "bos_token_id", "eos_token_id", "pad_token_id", "use_cache", "name_or_path", "_name_or_path", "auto_map",
        // tensor-parallel slicing of the same matmuls (Llama), expert parallelism and the multi-token-prediction
        // module that Hugging Face's forward does not run (DeepSeek-V3)
        "pretraining_tp", "ep_size", "num_nextn_predict_layers",
        // used only with use_sliding_window, which is refused
        "sliding_window", "max_window_layers");

    private static final List<String> SHARED = List.of("model_type", "vocab_size", "hidden_size", "num_hidden_layers",
        "num_attention_heads", "intermediate_size", "rms_norm_eps", "rope_theta", "rope_scaling",
        "max_position_embeddings", "tie_word_embeddings", "initializer_range", "hidden_act", "attention_dropout",
        "attention_bias", "mlp_bias", "use_sliding_window", "quantization_config");
    private static final List<String> LLAMA = List.of("num_key_value_heads", "head_dim");
    private static final List<String> DEEPSEEK = List.of("q_lora_rank", "kv_lora_rank", "qk_nope_head_dim",
        "qk_rope_head_dim", "v_head_dim", "rope_interleave", "n_routed_experts", "n_shared_experts",
        "num_experts_per_tok", "moe_intermediate_size", "scoring_func", "norm_topk_prob", "routed_scaling_factor",
        "n_group", "topk_group", "topk_method", "aux_loss_alpha", "seq_aux", "router_z_loss_coef",
        "moe_capacity_factor", "aux_free_bias_update_speed", "first_k_dense_replace", "moe_layer_freq");

    private ConfigKeys() {}

    /** The top-level keys the family of {@code modelType} reads (present or not), or an empty set for another type. */
    public static Set<String> read(String modelType) {
        return switch (modelType) {
            case "llama", "qwen2" -> Set.copyOf(concat(SHARED, LLAMA));
            case "deepseek_v3" -> Set.copyOf(concat(SHARED, DEEPSEEK));
            default -> Set.of();
        };
    }

    /**
     * Refuses keys whose value would change the math Spindle computes: an activation other than silu, MLP
     * biases, attention dropout, sliding-window attention, DeepSeek attention biases. (quantization_config is
     * refused by {@link CausalLms#fromPretrained}: the QAT loader builds quantized models from such configs.)
     */
    public static void requireNeutral(HfConfig config) {
        String act = config.string("hidden_act", "silu");
        if (!act.equals("silu")) {
            throw refused("hidden_act", "\"" + act + "\"", "only silu (SwiGLU) is computed");
        }
        if (config.bool("mlp_bias", false)) {
            throw refused("mlp_bias", "true", "the MLP projections have no biases");
        }
        if (config.real("attention_dropout", 0) != 0) {
            throw refused("attention_dropout", config.real("attention_dropout", 0), "attention has no dropout");
        }
        if (config.bool("use_sliding_window", false)) {
            throw refused("use_sliding_window", "true", "attention is full causal attention");
        }
        if ("deepseek_v3".equals(config.string("model_type")) && config.bool("attention_bias", false)) {
            throw refused("attention_bias", "true", "DeepSeek-V3's attention has no biases");
        }
    }

    private static IllegalArgumentException refused(String key, Object value, String why) {
        return new IllegalArgumentException(key + " " + value + " is not supported: " + why);
    }

    private static List<String> concat(List<String> a, List<String> b) {
        return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
    }
}
