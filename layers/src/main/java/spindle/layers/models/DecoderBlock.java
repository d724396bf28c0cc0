// SPDX-License-Identifier: Apache-2.0
package spindle.layers.models;

import static spindle.autograd.ops.Elementwise.add;

import spindle.autograd.Tensor;
import spindle.layers.Layer;
import spindle.layers.Module;
import spindle.layers.RmsNorm;
import spindle.layers.attention.AttentionCache;
import spindle.layers.attention.SelfAttention;
import spindle.layers.moe.MixtureOfExperts;
import spindle.layers.moe.MoeOutput;

/**
 * A pre-norm decoder block: x + attn(norm(x)), then h + mlp(norm(h)). The feed-forward is a dense layer
 * (SwiGLU) or a Mixture-of-Experts whose balance loss and loads are passed up, never stored.
 */
public final class DecoderBlock extends Module {
    private final RmsNorm inputNorm;
    private final SelfAttention attention;
    private final RmsNorm postAttentionNorm;
    private final Layer dense;
    private final MixtureOfExperts moe;

    /** A block with a dense feed-forward. */
    public DecoderBlock(SelfAttention attention, Layer mlp, RmsNorm inputNorm, RmsNorm postAttentionNorm) {
        this(attention, mlp, null, inputNorm, postAttentionNorm);
    }

    /** A block with a Mixture-of-Experts feed-forward. */
    public DecoderBlock(SelfAttention attention, MixtureOfExperts mlp, RmsNorm inputNorm, RmsNorm postAttentionNorm) {
        this(attention, null, mlp, inputNorm, postAttentionNorm);
    }

    private DecoderBlock(SelfAttention attention, Layer dense, MixtureOfExperts moe, RmsNorm inputNorm,
                         RmsNorm postAttentionNorm) {
        // Registration order is Hugging Face's, so state dicts list keys as checkpoints do.
        this.attention = child("self_attn", attention);
        this.dense = dense == null ? null : child("mlp", dense);
        this.moe = moe == null ? null : child("mlp", moe);
        this.inputNorm = child("input_layernorm", inputNorm);
        this.postAttentionNorm = child("post_attention_layernorm", postAttentionNorm);
    }

    /** The block's output and, for a MoE block, its routing facts (null balance loss for a dense block). */
    public record Output(Tensor hidden, Tensor balanceLoss, long[] tokensPerExpert) {}

    /** x [B, T, hidden] → [B, T, hidden]; cache null in training. */
    public Output forward(Tensor x, AttentionCache cache) {
        Tensor h = add(x, attention.forward(inputNorm.forward(x), cache));
        Tensor normed = postAttentionNorm.forward(h);
        if (moe == null) {
            return new Output(add(h, dense.forward(normed)), null, null);
        }
        MoeOutput routed = moe.forward(normed);
        return new Output(add(h, routed.hidden()), routed.balanceLoss(), routed.tokensPerExpert());
    }

    public SelfAttention attention() {
        return attention;
    }

    /** The MoE feed-forward, or null for a dense block. */
    public MixtureOfExperts moe() {
        return moe;
    }
}
