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
import spindle.layers.SwiGlu;
import spindle.layers.attention.AttentionDims;
import spindle.layers.attention.MultiHeadAttention;

/** Llama-style models (GQA attention with RoPE, SwiGLU, RMSNorm); the only reader of Llama's config.json keys. */
public final class Llama {
    private Llama() {}

    /**
     * Builds the model {@code config} describes (model_type "llama"), parameters filled by {@code init} (load a
     * checkpoint afterwards for trained weights); projections come from {@code linears}.
     */
    public static CausalLm fromHfConfig(HfConfig config, DataType dtype, LinearFactory linears, Init init) {
        int hidden = config.integer("hidden_size");
        int heads = config.integer("num_attention_heads");
        int kvHeads = config.integer("num_key_value_heads", heads);
        int headDim = config.integer("head_dim", heads > 0 ? hidden / heads : 0);
        double eps = config.real("rms_norm_eps", 1e-6);
        int layers = config.integer("num_hidden_layers");
        var attention = new AttentionDims(hidden, heads, kvHeads, headDim, config.bool("attention_bias", false));
        Rope rope = new Rope(headDim, config.real("rope_theta", 10000.0), config.integer("max_position_embeddings"),
            RopeLayout.ROTATE_HALF, dtype);
        int intermediate = config.integer("intermediate_size");
        List<DecoderBlock> blocks = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            blocks.add(new DecoderBlock(new MultiHeadAttention(attention, rope, linears),
                new SwiGlu(hidden, intermediate, linears), new RmsNorm(hidden, eps, dtype), new RmsNorm(hidden, eps, dtype)));
        }
        return CausalLms.assemble("llama", config, blocks, dtype, linears, init);
    }
}
