// SPDX-License-Identifier: Apache-2.0
package spindle.layers.attention;

import static spindle.autograd.ops.Joins.concat;

import java.util.Arrays;
import java.util.function.Supplier;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.GradMode;
import spindle.autograd.Memory;
import spindle.autograd.Tensor;

/**
 * The generation cache of one {@link MultiHeadLatentAttention} layer, in one of the two {@link MlaCacheForm}s.
 * It holds its own copies of the cached arrays, all of shape [B, heads, S, width] along the token dim S:
 * keys and values for {@link MlaCacheForm#NAIVE}, one [B, 1, S, kv_lora_rank + qk_rope_head_dim] latent for
 * {@link MlaCacheForm#ABSORBED}, which also keeps kv_b_proj's absorbed weights once computed (they are
 * constants: no gradient reaches kv_b_proj through the absorbed form, which is for generation).
 */
public final class MlaCache implements AttentionCache {
    private final MultiHeadLatentAttention owner;
    private final MlaCacheForm form;
    private final long numbersPerToken;
    private final INDArray[] streams;
    private INDArray[] absorbed;
    private long length;

    MlaCache(MultiHeadLatentAttention owner, MlaCacheForm form, long numbersPerToken, int streamCount) {
        this.owner = owner;
        this.form = form;
        this.numbersPerToken = numbersPerToken;
        this.streams = new INDArray[streamCount];
    }

    /** The layer this cache belongs to: each layer of a model keeps its own. */
    public MultiHeadLatentAttention owner() {
        return owner;
    }

    public MlaCacheForm form() {
        return form;
    }

    @Override
    public long length() {
        return length;
    }

    @Override
    public long numbersPerToken() {
        return numbersPerToken;
    }

    /** Numbers held now over all sequences of the batch: B * length() * numbersPerToken() once filled. */
    public long storedNumbers() {
        return Arrays.stream(streams).mapToLong(a -> a == null ? 0 : a.length()).sum();
    }

    @Override
    public void clear() {
        for (int i = 0; i < streams.length; i++) {
            Memory.release(streams[i]);
            streams[i] = null;
        }
        if (absorbed != null) {
            Arrays.stream(absorbed).forEach(Memory::release);
            absorbed = null;
        }
        length = 0;
    }

    /**
     * Appends the new tokens' entries (each [B, h, T, width], one per stream) and returns each stream with
     * everything cached before it: [B, h, S + T, width]. Gradients reach the new entries, not the cached ones.
     */
    Tensor[] append(Tensor... fresh) {
        if (fresh.length != streams.length) {
            throw new IllegalStateException("MlaCache: expected " + streams.length + " streams, got " + fresh.length);
        }
        Tensor[] all = new Tensor[fresh.length];
        for (int i = 0; i < fresh.length; i++) {
            INDArray old = streams[i];
            if (old != null && old.size(0) != fresh[i].size(0)) {
                throw new IllegalArgumentException("MlaCache: the cache holds batch size " + old.size(0)
                    + " but x has batch size " + fresh[i].size(0) + "; use one cache per batch");
            }
            all[i] = old == null ? fresh[i] : concat(2, Tensor.of(old), fresh[i]);
            // A fresh concat outside a graph can be owned as is; anything a backward may free is copied.
            boolean own = old != null && !GradMode.isEnabled();
            streams[i] = own ? all[i].value() : all[i].value().dup();
            if (own) {
                Memory.release(old);
            }
        }
        length += fresh[0].size(2);
        return all;
    }

    /** kv_b_proj's weights in absorbed form, computed by {@code compute} on first use and kept until {@link #clear()}. */
    INDArray[] absorbedWeights(Supplier<INDArray[]> compute) {
        if (absorbed == null) {
            absorbed = compute.get();
        }
        return absorbed;
    }
}
