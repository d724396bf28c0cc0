// SPDX-License-Identifier: Apache-2.0
package spindle.layers.models;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.autograd.ops.RopeLayout;
import spindle.data.HfConfig;
import spindle.layers.Init;
import spindle.layers.LinearFactory;
import spindle.layers.RmsNorm;
import spindle.layers.Rope;
import spindle.layers.RopeScaling;
import spindle.layers.SwiGlu;
import spindle.layers.attention.MlaDims;
import spindle.layers.attention.MultiHeadLatentAttention;
import spindle.layers.moe.BalanceOptions;
import spindle.layers.moe.ExpertDims;
import spindle.layers.moe.MixtureOfExperts;
import spindle.layers.moe.MoeConfig;
import spindle.layers.moe.RouterOptions;
import spindle.layers.moe.RouterScore;

/**
 * DeepSeek-V3-style models (Multi-head Latent Attention, DeepSeekMoE after the first dense layers); the only
 * reader of DeepSeek-V3's config.json keys. Beyond Hugging Face's keys, three training options are read:
 * {@code router_z_loss_coef}, {@code moe_capacity_factor} and {@code aux_free_bias_update_speed} (the loss-free
 * bias's gamma, used when {@code topk_method} is "noaux_tc").
 */
public final class DeepSeekV3 {
    private DeepSeekV3() {}

    /** Builds the model {@code config} describes (model_type "deepseek_v3"), parameters filled by {@code init}. */
    public static CausalLm fromHfConfig(HfConfig config, DataType dtype, LinearFactory linears, Init init) {
        int hidden = config.positiveInteger("hidden_size");
        double eps = config.real("rms_norm_eps", 1e-6);
        var mla = new MlaDims(hidden, config.positiveInteger("num_attention_heads"),
            config.optionalPositiveInteger("q_lora_rank").orElse(0), config.positiveInteger("kv_lora_rank"),
            config.positiveInteger("qk_nope_head_dim"), config.positiveInteger("qk_rope_head_dim"),
            config.positiveInteger("v_head_dim"), eps);
        RopeLayout layout = config.bool("rope_interleave", false) ? RopeLayout.INTERLEAVED : RopeLayout.ROTATE_HALF;
        Rope rope = new Rope(mla.qkRopeHeadDim(), config.real("rope_theta", 10000.0),
            config.positiveInteger("max_position_embeddings"), layout, RopeScaling.fromHfConfig(config), dtype);
        MoeConfig moe = moeConfig(config, hidden);
        int denseLayers = moe == null ? Integer.MAX_VALUE : config.nonNegativeInteger("first_k_dense_replace", 0);
        int every = config.positiveInteger("moe_layer_freq", 1);
        int intermediate = config.positiveInteger("intermediate_size");
        int layers = config.positiveInteger("num_hidden_layers");
        List<DecoderBlock> blocks = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            LinearFactory layer = CausalLms.layerLinears(linears, i);
            var attention = new MultiHeadLatentAttention(mla, rope, layer.scoped("self_attn"), dtype);
            boolean routed = i >= denseLayers && i % every == 0;
            blocks.add(routed
                ? new DecoderBlock(attention, new MixtureOfExperts(moe, layer.scoped("mlp"), dtype, init),
                    new RmsNorm(hidden, eps, dtype), new RmsNorm(hidden, eps, dtype))
                : new DecoderBlock(attention, new SwiGlu(hidden, intermediate, layer.scoped("mlp")),
                    new RmsNorm(hidden, eps, dtype), new RmsNorm(hidden, eps, dtype)));
        }
        return CausalLms.assemble("deepseek_v3", config, blocks, dtype, linears, init);
    }

    /** The MoE options, or null when the config has no routed experts (every layer dense). */
    private static MoeConfig moeConfig(HfConfig config, int hidden) {
        int experts = config.optionalInteger("n_routed_experts").orElse(0);
        if (experts == 0) {
            return null;
        }
        var dims = new ExpertDims(hidden, experts, config.optionalInteger("n_shared_experts").orElse(0),
            config.integer("num_experts_per_tok"), config.integer("moe_intermediate_size"));
        RouterOptions r = RouterOptions.defaults();
        var routing = new RouterOptions(config.enumValue("scoring_func", RouterScore.class, r.scoring()),
            config.bool("norm_topk_prob", r.normTopkProb()),
            config.real("routed_scaling_factor", r.routedScalingFactor()),
            config.optionalInteger("n_group").orElse(r.nGroup()),
            config.optionalInteger("topk_group").orElse(r.topkGroup()));
        BalanceOptions b = BalanceOptions.defaults();
        boolean lossFreeBias = "noaux_tc".equals(config.string("topk_method", "greedy"));
        var balance = new BalanceOptions(config.real("aux_loss_alpha", b.auxLossAlpha()),
            config.bool("seq_aux", b.seqAux()), config.real("router_z_loss_coef", b.zLossCoef()),
            config.real("moe_capacity_factor", b.capacityFactor()),
            lossFreeBias ? config.real("aux_free_bias_update_speed", BalanceOptions.DEFAULT_BIAS_UPDATE_SPEED)
                : b.biasUpdateSpeed());
        return new MoeConfig(dims, routing, balance);
    }
}
