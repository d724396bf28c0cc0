// SPDX-License-Identifier: Apache-2.0
package spindle.layers.models;

import static spindle.autograd.ops.Elementwise.add;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Linalg;
import spindle.layers.Layer;
import spindle.layers.Module;
import spindle.layers.attention.AttentionCache;

/**
 * A decoder-only language model: token ids → logits over the vocabulary. Parameters carry Hugging Face names
 * ({@code model.layers.0.self_attn.q_proj.weight}, {@code lm_head.weight}); with tied embeddings the head
 * reuses {@code model.embed_tokens.weight} and has no key of its own, as in Hugging Face checkpoints.
 */
public final class CausalLm extends Module {
    private final String modelType;
    private final DecoderStack model;
    private final Layer lmHead;
    /** logits from the hidden states and the embedding weight when the head is tied (QAT fake-quantizes both). */
    private BiFunction<Tensor, Tensor, Tensor> tiedHead = (h, embedding) -> Linalg.linear(h, embedding, null);
    private final DataType dtype;
    private final int maxPositions;

    /**
     * @param lmHead the output projection [vocab, hidden], or null to tie it to the embedding
     * @param maxPositions max_position_embeddings: the longest sequence the position tables cover
     */
    public CausalLm(String modelType, DecoderStack model, Layer lmHead, DataType dtype, int maxPositions) {
        this.modelType = modelType;
        this.model = child("model", model);
        this.lmHead = lmHead == null ? null : child("lm_head", lmHead);
        this.dtype = dtype;
        this.maxPositions = maxPositions;
    }

    /** ids [B, T] (INT64 or INT32) → logits [B, T, vocab]; caches null in training, else one per layer. */
    public CausalLmOutput forward(Tensor ids, List<AttentionCache> caches) {
        List<DecoderBlock> blocks = model.layers();
        if (ids.rank() != 2) {
            throw new IllegalArgumentException("CausalLm: ids must be [batch, seq] but have shape "
                + java.util.Arrays.toString(ids.shape()));
        }
        if (caches != null && caches.size() != blocks.size()) {
            throw new IllegalArgumentException("CausalLm: " + caches.size() + " caches given for " + blocks.size()
                + " layers (use newCaches())");
        }
        Tensor h = model.embedTokens().forward(ids);
        Tensor balance = null;
        List<long[]> loads = new ArrayList<>();
        for (int i = 0; i < blocks.size(); i++) {
            DecoderBlock.Output out = blocks.get(i).forward(h, caches == null ? null : caches.get(i));
            h = out.hidden();
            if (out.balanceLoss() != null) {
                balance = balance == null ? out.balanceLoss() : add(balance, out.balanceLoss());
                loads.add(out.tokensPerExpert());
            }
        }
        h = model.norm().forward(h);
        Tensor logits = lmHead != null ? lmHead.forward(h) : tiedHead.apply(h, model.embedTokens().weight());
        if (balance == null) {
            balance = Tensor.of(Nd4j.scalar(dtype, 0.0));
        }
        return new CausalLmOutput(logits, balance, loads.toArray(new long[0][]));
    }

    /**
     * Replaces how a tied head computes logits from the hidden states [..., hidden] and the embedding weight
     * [vocab, hidden] (a QAT model fake-quantizes both); the embedding stays the only parameter.
     */
    public void setTiedHead(BiFunction<Tensor, Tensor, Tensor> head) {
        if (lmHead != null || head == null) {
            throw new IllegalArgumentException("setTiedHead: " + (head == null ? "the head must not be null"
                : "this model's lm_head is not tied to the embedding"));
        }
        tiedHead = head;
    }

    /** How a tied head computes its logits (see {@link #setTiedHead}); unused when lm_head is a layer of its own. */
    public BiFunction<Tensor, Tensor, Tensor> tiedHead() {
        return tiedHead;
    }

    /** Fresh inference caches, one per layer, in each attention's preferred form. */
    public List<AttentionCache> newCaches() {
        List<AttentionCache> caches = new ArrayList<>();
        for (DecoderBlock b : model.layers()) {
            caches.add(b.attention().newCache());
        }
        return caches;
    }

    /** "llama", "qwen2" or "deepseek_v3": the config's model_type this model was built from. */
    public String modelType() {
        return modelType;
    }

    public DecoderStack model() {
        return model;
    }

    public DataType dtype() {
        return dtype;
    }

    /** max_position_embeddings: a sequence (prompt and generated tokens together) has at most this many tokens. */
    public int maxPositions() {
        return maxPositions;
    }

    public int vocabSize() {
        return (int) model.embedTokens().weight().shape()[0];
    }
}
