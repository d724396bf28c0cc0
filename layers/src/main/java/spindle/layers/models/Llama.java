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
import spindle.layers.attention.AttentionDims;
import spindle.layers.attention.MultiHeadAttention;

/**
 * Llama-style models (GQA attention with RoPE, SwiGLU, RMSNorm) and Qwen2 (the same layout with biases on q, k
 * and v); the only reader of their config.json keys.
 */
public final class Llama {
    private Llama() {}

    /**
     * Builds the model {@code config} describes (model_type "llama" or "qwen2"), parameters filled by {@code init}
     * (load a checkpoint afterwards for trained weights); projections come from {@code linears}.
     */
    public static CausalLm fromHfConfig(HfConfig config, DataType dtype, LinearFactory linears, Init init) {
        String type = config.string("model_type");
        boolean qwen2 = type.equals("qwen2");
        int hidden = config.positiveInteger("hidden_size");
        int heads = config.positiveInteger("num_attention_heads");
        int kvHeads = config.positiveInteger("num_key_value_heads", heads);
        int headDim = config.has("head_dim") ? config.positiveInteger("head_dim") : headDim(config, hidden, heads);
        double eps = config.real("rms_norm_eps", 1e-6);
        int layers = config.positiveInteger("num_hidden_layers");
        // Qwen2 always has q/k/v biases and no o_proj bias; Llama's attention_bias puts them on all four
        boolean bias = qwen2 || config.bool("attention_bias", false);
        var attention = new AttentionDims(hidden, heads, kvHeads, headDim, bias, bias && !qwen2);
        Rope rope = new Rope(headDim, config.real("rope_theta", 10000.0), config.positiveInteger("max_position_embeddings"),
            RopeLayout.ROTATE_HALF, RopeScaling.fromHfConfig(config), dtype);
        int intermediate = config.positiveInteger("intermediate_size");
        List<DecoderBlock> blocks = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            LinearFactory layer = CausalLms.layerLinears(linears, i);
            blocks.add(new DecoderBlock(new MultiHeadAttention(attention, rope, layer.scoped("self_attn")),
                new SwiGlu(hidden, intermediate, layer.scoped("mlp")), new RmsNorm(hidden, eps, dtype),
                new RmsNorm(hidden, eps, dtype)));
        }
        return CausalLms.assemble(type, config, blocks, dtype, linears, init);
    }

    /** hidden_size / num_attention_heads, Hugging Face's head size when head_dim is not given; it must divide. */
    private static int headDim(HfConfig config, int hidden, int heads) {
        if (hidden % heads != 0) {
            // truncating would build heads * (hidden / heads) query channels, fewer than hidden, without a word
            throw new IllegalArgumentException(config.source() + ": hidden_size (" + hidden + ") is not a multiple of"
                + " num_attention_heads (" + heads + "); change one of them, or give head_dim for another head size");
        }
        return hidden / heads;
    }
}
