// SPDX-License-Identifier: Apache-2.0
package spindle.layers.attention;

import static spindle.autograd.ops.Joins.concat;
import static spindle.autograd.ops.Joins.split;
import static spindle.autograd.ops.Linalg.matmul;
import static spindle.autograd.ops.Shapes.expand;
import static spindle.autograd.ops.Shapes.narrow;
import static spindle.autograd.ops.Shapes.reshape;
import static spindle.autograd.ops.Shapes.transpose;
import static spindle.autograd.ops.Shapes.unsqueeze;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Attention;
import spindle.layers.EffectiveWeight;
import spindle.layers.Layer;
import spindle.layers.LinearFactory;
import spindle.layers.RmsNorm;
import spindle.layers.Rope;

/**
 * Multi-head Latent Attention with decoupled RoPE (DeepSeek-V2 section 2.1, DeepSeek-V3), with the children
 * and checkpoint names of Hugging Face DeepSeek-V3: queries from q_a_proj, q_a_layernorm, q_b_proj (or a
 * plain q_proj when q_lora_rank is 0); one kv_a_proj_with_mqa that gives the latent c_kv (kv_lora_rank) and
 * a rope key k_pe (qk_rope_head_dim) shared by all heads; kv_a_layernorm on c_kv; kv_b_proj that expands
 * it into per-head k_nope and v; o_proj. RoPE touches only the rope parts; scores are scaled by
 * 1/sqrt(qk_nope_head_dim + qk_rope_head_dim).
 *
 * <p>Training (no cache) computes full per-head keys. Generation caches either those keys and values
 * ({@link MlaCacheForm#NAIVE}) or only c_kv and k_pe ({@link MlaCacheForm#ABSORBED}, the default), with
 * kv_b_proj absorbed into the query and the output; both give the training output.
 */
public final class MultiHeadLatentAttention extends SelfAttention {
    private final MlaDims dims;
    private final Rope rope;
    private final DataType dtype;
    private final double scale;
    private final Layer qProj;
    private final Layer qAProj;
    private final RmsNorm qALayernorm;
    private final Layer qBProj;
    private final Layer kvAProjWithMqa;
    private final RmsNorm kvALayernorm;
    private final Layer kvBProj;
    private final Layer oProj;

    /**
     * @param rope rotary embedding of width qk_rope_head_dim, applied to q_pe and k_pe
     * @param linears builds q_a_proj/q_b_proj (or q_proj), kv_a_proj_with_mqa, kv_b_proj and o_proj, all without bias
     */
    public MultiHeadLatentAttention(MlaDims dims, Rope rope, LinearFactory linears, DataType dtype) {
        if (dims == null || rope == null || linears == null || dtype == null) {
            throw new IllegalArgumentException("MultiHeadLatentAttention: dims, rope, linears and dtype must not be null");
        }
        if (rope.rotaryDim() != dims.qkRopeHeadDim()) {
            throw new IllegalArgumentException("MultiHeadLatentAttention: the rope rotates " + rope.rotaryDim()
                + " channels but qk_rope_head_dim is " + dims.qkRopeHeadDim());
        }
        this.dims = dims;
        this.rope = rope;
        this.dtype = dtype;
        this.scale = 1.0 / Math.sqrt(dims.qkHeadDim());
        int h = dims.heads();
        double eps = dims.rmsNormEps();
        if (dims.hasQueryLora()) {
            qAProj = child("q_a_proj", linears.create("q_a_proj", dims.hidden(), dims.qLoraRank(), false));
            qALayernorm = child("q_a_layernorm", new RmsNorm(dims.qLoraRank(), eps, dtype));
            qBProj = child("q_b_proj", linears.create("q_b_proj", dims.qLoraRank(), h * dims.qkHeadDim(), false));
            qProj = null;
        } else {
            qProj = child("q_proj", linears.create("q_proj", dims.hidden(), h * dims.qkHeadDim(), false));
            qAProj = null;
            qALayernorm = null;
            qBProj = null;
        }
        kvAProjWithMqa = child("kv_a_proj_with_mqa",
            linears.create("kv_a_proj_with_mqa", dims.hidden(), dims.cachedPerToken(), false));
        kvALayernorm = child("kv_a_layernorm", new RmsNorm(dims.kvLoraRank(), eps, dtype));
        kvBProj = child("kv_b_proj",
            linears.create("kv_b_proj", dims.kvLoraRank(), h * (dims.qkNopeHeadDim() + dims.vHeadDim()), false));
        oProj = child("o_proj", linears.create("o_proj", h * dims.vHeadDim(), dims.hidden(), false));
    }

    public MlaDims dims() {
        return dims;
    }

    /**
     * x [B, T, hidden] → [B, T, hidden]. With a cache (from {@link #newCache}) the T tokens take positions
     * {@code cache.length()} onwards and are appended to it.
     */
    @Override
    public Tensor forward(Tensor x, AttentionCache cache) {
        long[] s = x.shape();
        if (s.length != 3 || s[2] != dims.hidden() || s[1] == 0) {
            throw new IllegalArgumentException("MultiHeadLatentAttention.forward: x must have shape [B, T, "
                + dims.hidden() + "] (hidden_size) with T >= 1 but has " + Arrays.toString(s));
        }
        if (x.dtype() != dtype) {
            throw new IllegalArgumentException("MultiHeadLatentAttention.forward: x is " + x.dtype()
                + " but the layer is " + dtype);
        }
        MlaCache own = ownCache(cache);
        long start = own == null ? 0 : own.length();
        Tensor[] q = queries(x, start);      // q_nope [B, H, T, nope], q_pe [B, H, T, rope] (roped)
        Tensor[] latent = latent(x, start);  // c_kv [B, 1, T, kv_lora_rank] (normalised), k_pe [B, 1, T, rope] (roped)
        Tensor o = own != null && own.form() == MlaCacheForm.ABSORBED
            ? absorbed(q, latent, own) : naive(q, latent, own);   // [B, H, T, v_head_dim]
        return oProj.forward(reshape(transpose(o, 1, 2), s[0], s[1], (long) dims.heads() * dims.vHeadDim()));
    }

    /** An empty {@link MlaCacheForm#ABSORBED} cache. */
    @Override
    public MlaCache newCache() {
        return newCache(MlaCacheForm.ABSORBED);
    }

    /** An empty cache of the given form; its {@link MlaCache#numbersPerToken()} is {@link #cacheNumbersPerToken}. */
    public MlaCache newCache(MlaCacheForm form) {
        return new MlaCache(this, form, cacheNumbersPerToken(dims, form), form == MlaCacheForm.NAIVE ? 2 : 1);
    }

    /**
     * Numbers cached per token per sequence by one layer: heads * (qk_head_dim + v_head_dim) for NAIVE,
     * kv_lora_rank + qk_rope_head_dim for ABSORBED.
     */
    public static long cacheNumbersPerToken(MlaDims dims, MlaCacheForm form) {
        return form == MlaCacheForm.NAIVE
            ? (long) dims.heads() * (dims.qkHeadDim() + dims.vHeadDim()) : dims.cachedPerToken();
    }

    private MlaCache ownCache(AttentionCache cache) {
        if (cache == null) {
            return null;
        }
        if (!(cache instanceof MlaCache own)) {
            throw new IllegalArgumentException("MultiHeadLatentAttention.forward: cache is a "
                + cache.getClass().getSimpleName() + "; pass one from this layer's newCache()");
        }
        if (own.owner() != this) {
            throw new IllegalArgumentException("MultiHeadLatentAttention.forward: the cache belongs to another layer;"
                + " each layer needs its own cache from its newCache()");
        }
        return own;
    }

    /** {q_nope [B, H, T, nope], q_pe [B, H, T, rope]} with RoPE applied to q_pe from position {@code start}. */
    private Tensor[] queries(Tensor x, long start) {
        Tensor q = qProj != null ? qProj.forward(x) : qBProj.forward(qALayernorm.forward(qAProj.forward(x)));
        q = transpose(reshape(q, x.size(0), x.size(1), dims.heads(), dims.qkHeadDim()), 1, 2);
        Tensor[] parts = split(q, 3, dims.qkNopeHeadDim(), dims.qkRopeHeadDim());
        return new Tensor[] {parts[0], rope.apply(parts[1], start)};
    }

    /** {c_kv [B, 1, T, kv_lora_rank] after kv_a_layernorm, k_pe [B, 1, T, rope] after RoPE}. */
    private Tensor[] latent(Tensor x, long start) {
        Tensor ckv = unsqueeze(kvAProjWithMqa.forward(x), 1);
        Tensor[] parts = split(ckv, 3, dims.kvLoraRank(), dims.qkRopeHeadDim());
        return new Tensor[] {kvALayernorm.forward(parts[0]), rope.apply(parts[1], start)};
    }

    /** Full per-head keys and values, as in training; cached as such when {@code cache} is NAIVE. */
    private Tensor naive(Tensor[] q, Tensor[] latent, MlaCache cache) {
        long b = q[0].size(0);
        long t = q[0].size(2);
        int h = dims.heads();
        Tensor kv = transpose(reshape(kvBProj.forward(latent[0]), b, t, h, dims.qkNopeHeadDim() + dims.vHeadDim()), 1, 2);
        Tensor[] kNopeV = split(kv, 3, dims.qkNopeHeadDim(), dims.vHeadDim());
        Tensor k = concat(3, kNopeV[0], expand(latent[1], b, h, t, dims.qkRopeHeadDim()));
        Tensor v = kNopeV[1];
        if (cache != null) {
            Tensor[] all = cache.append(k, v);
            k = all[0];
            v = all[1];
        }
        return Attention.causal(concat(3, q[0], q[1]), k, v, scale, null);
    }

    /**
     * Attention over the cached latent as one shared key/value head: score = (q_nope W_UK) · c_kv + q_pe · k_pe,
     * output = (softmax · c_kv) W_UVᵀ per head, which equals the naive form because W_UK and W_UV are linear.
     */
    private Tensor absorbed(Tensor[] q, Tensor[] latent, MlaCache cache) {
        INDArray[] w = cache.absorbedWeights(this::absorbedWeights);
        Tensor qLatent = matmul(q[0], Tensor.of(w[0]));                      // [B, H, T, kv_lora_rank]
        Tensor kv = cache.append(concat(3, latent[0], latent[1]))[0];        // [B, 1, S, kv_lora_rank + rope]
        Tensor o = Attention.causal(concat(3, qLatent, q[1]), kv, narrow(kv, 3, 0, dims.kvLoraRank()), scale, null);
        return matmul(o, Tensor.of(w[1]));                                   // [B, H, T, v_head_dim]
    }

    /**
     * kv_b_proj's weight [H * (nope + v), kv_lora_rank] cut into W_UK [H, nope, kv_lora_rank] (applied to
     * q_nope) and W_UVᵀ [H, kv_lora_rank, v] (applied to the attended latent), as compact copies. The weight is
     * the one the layer applies ({@link EffectiveWeight}: a LoRA adapter's W + s·B·A); any other layer is read
     * off its outputs for the unit vectors.
     */
    private INDArray[] absorbedWeights() {
        int h = dims.heads();
        int nope = dims.qkNopeHeadDim();
        int r = dims.kvLoraRank();
        try (GradMode.Scope off = GradMode.disable()) {
            INDArray w = kvBProj instanceof EffectiveWeight stated ? stated.effectiveWeight()
                : kvBProj.forward(Tensor.of(Nd4j.eye(r).castTo(dtype))).value().transpose().dup('c');
            w = w.dataType() == dtype ? w : w.castTo(dtype);   // a frozen bf16 base's weight, widened
            INDArray perHead = w.reshape('c', h, nope + dims.vHeadDim(), r);   // [H, nope + v, r]
            INDArray uk = perHead.get(all(), interval(0, nope), all()).dup('c');
            INDArray uv = perHead.get(all(), interval(nope, nope + dims.vHeadDim()), all()).permute(0, 2, 1).dup('c');
            return new INDArray[] {uk, uv};
        }
    }
}
