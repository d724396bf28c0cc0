// SPDX-License-Identifier: Apache-2.0
package spindle.layers.attention;

import static spindle.autograd.ops.Shapes.reshape;
import static spindle.autograd.ops.Shapes.transpose;

import java.util.Arrays;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Attention;
import spindle.layers.Layer;
import spindle.layers.LinearFactory;
import spindle.layers.Rope;

/**
 * Causal self-attention with H query heads and Hkv key/value heads, as Hugging Face Llama: multi-head
 * (Hkv = H), grouped-query (H a multiple of Hkv) and multi-query (Hkv = 1). RoPE turns q and k; the scores are
 * scaled by 1/sqrt(head_dim). Children q_proj, k_proj, v_proj, o_proj, built by a {@link LinearFactory}.
 */
public final class MultiHeadAttention extends SelfAttention {
    private final AttentionDims dims;
    private final Rope rope;
    private final Layer qProj;
    private final Layer kProj;
    private final Layer vProj;
    private final Layer oProj;

    /** rope rotates whole heads: its rotary dim must equal head_dim. */
    public MultiHeadAttention(AttentionDims dims, Rope rope, LinearFactory linears) {
        if (dims == null || rope == null || linears == null) {
            throw new IllegalArgumentException("MultiHeadAttention: dims, rope and linears must not be null");
        }
        if (rope.rotaryDim() != dims.headDim()) {
            throw new IllegalArgumentException("MultiHeadAttention: the Rope rotates " + rope.rotaryDim()
                + " channels but head_dim is " + dims.headDim());
        }
        this.dims = dims;
        this.rope = rope;
        int q = dims.heads() * dims.headDim();
        int kv = dims.kvHeads() * dims.headDim();
        qProj = child("q_proj", linears.create("q_proj", dims.hidden(), q, dims.bias()));
        kProj = child("k_proj", linears.create("k_proj", dims.hidden(), kv, dims.bias()));
        vProj = child("v_proj", linears.create("v_proj", dims.hidden(), kv, dims.bias()));
        oProj = child("o_proj", linears.create("o_proj", q, dims.hidden(), dims.outputBias()));
    }

    /** x [B, T, hidden] → [B, T, hidden]; {@code cache} is null in training, else a {@link KvCache} from {@link #newCache()}. */
    @Override
    public Tensor forward(Tensor x, AttentionCache cache) {
        return forward(x, cache, null);
    }

    /**
     * As {@link #forward(Tensor, AttentionCache)} with a key padding mask: {@code keepMask} BOOL [B, cached + T]
     * (cached = cache.length(), 0 without a cache), false at padding tokens, or null. A query that sees only
     * padding (left padding) gets 0 from attention, so o_proj's bias alone.
     */
    public Tensor forward(Tensor x, AttentionCache cache, Tensor keepMask) {
        long[] xs = x.shape();
        if (xs.length != 3 || xs[2] != dims.hidden()) {
            throw new IllegalArgumentException("MultiHeadAttention.forward: x must be [B, T, " + dims.hidden()
                + "] (hidden_size) but has shape " + Arrays.toString(xs));
        }
        if (cache != null && !(cache instanceof KvCache)) {
            throw new IllegalArgumentException("MultiHeadAttention.forward: cache is a " + cache.getClass().getSimpleName()
                + "; use newCache()");
        }
        long b = xs[0];
        long t = xs[1];
        long start = cache == null ? 0 : cache.length();
        Tensor q = rope.apply(heads(qProj.forward(x), b, t, dims.heads()), start);
        Tensor k = rope.apply(heads(kProj.forward(x), b, t, dims.kvHeads()), start);
        Tensor v = heads(vProj.forward(x), b, t, dims.kvHeads());
        if (cache != null) {
            Tensor[] all = ((KvCache) cache).append(k, v);
            k = all[0];
            v = all[1];
        }
        Tensor o = Attention.causal(q, k, v, 1.0 / Math.sqrt(dims.headDim()), keepMask);   // [B, H, T, D]
        return oProj.forward(reshape(transpose(o, 1, 2), b, t, (long) dims.heads() * dims.headDim()));
    }

    /** An empty {@link KvCache} for this layer's key/value heads. */
    @Override
    public AttentionCache newCache() {
        return new KvCache(dims.kvHeads(), dims.headDim());
    }

    public AttentionDims dims() {
        return dims;
    }

    /** [B, T, n·D] → [B, n, T, D]. */
    private Tensor heads(Tensor y, long b, long t, int n) {
        return transpose(reshape(y, b, t, n, dims.headDim()), 1, 2);
    }
}
