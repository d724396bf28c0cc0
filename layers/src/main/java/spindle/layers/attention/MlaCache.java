// SPDX-License-Identifier: Apache-2.0
package spindle.layers.attention;

import static spindle.autograd.ops.Joins.concat;

import java.util.Arrays;
import java.util.function.Supplier;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.autograd.Memory;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;

/**
 * The generation cache of one {@link MultiHeadLatentAttention} layer, in one of the two {@link MlaCacheForm}s.
 * It holds its own copies of the cached arrays, all of shape [B, heads, S, width] along the token dim S
 * (storage of doubling capacity):
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
        return Arrays.stream(streams).mapToLong(a -> a == null ? 0 : a.size(0) * a.size(1) * length * a.size(3)).sum();
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
     * everything cached before it: [B, h, S + T, width]. Storage grows by doubling, so a decode step copies only
     * its own token. With grad on, gradients reach the new entries, not the cached ones.
     */
    Tensor[] append(Tensor... fresh) {
        if (fresh.length != streams.length) {
            throw new IllegalStateException("MlaCache: expected " + streams.length + " streams, got " + fresh.length);
        }
        if (streams[0] != null && streams[0].size(0) != fresh[0].size(0)) {
            throw new IllegalArgumentException("MlaCache: the cache holds batch size " + streams[0].size(0)
                + " but x has batch size " + fresh[0].size(0) + "; clear() it or use one cache per batch");
        }
        long t = fresh[0].size(2);
        boolean recording = Tape.isRecording(fresh);
        Tensor[] all = new Tensor[fresh.length];
        for (int i = 0; i < fresh.length; i++) {
            INDArray prefix = recording && length > 0 ? span(streams[i], 0, length).dup() : null;
            if (streams[i] == null || length + t > streams[i].size(2)) {
                streams[i] = grow(streams[i], fresh[i], Math.max(length + t, streams[i] == null ? t : 2 * streams[i].size(2)));
            }
            span(streams[i], length, length + t).assign(fresh[i].value());
            all[i] = !recording ? Tensor.of(span(streams[i], 0, length + t))
                : prefix == null ? fresh[i] : concat(2, Tensor.of(prefix), fresh[i]);
        }
        length += t;
        return all;
    }

    /** New storage [B, h, capacity, width] holding the cached tokens; the old storage is freed (no graph reads it). */
    private INDArray grow(INDArray old, Tensor like, long capacity) {
        long[] s = like.shape();
        INDArray fresh = Nd4j.createUninitialized(like.dtype(), s[0], s[1], capacity, s[3]);
        if (old != null) {
            span(fresh, 0, length).assign(span(old, 0, length));
            Memory.release(old);
        }
        return fresh;
    }

    private static INDArray span(INDArray a, long from, long to) {
        return a.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(from, to), NDArrayIndex.all());
    }

    /** kv_b_proj's weights in absorbed form, computed by {@code compute} on first use and kept until {@link #clear()}. */
    INDArray[] absorbedWeights(Supplier<INDArray[]> compute) {
        if (absorbed == null) {
            absorbed = compute.get();
        }
        return absorbed;
    }
}
