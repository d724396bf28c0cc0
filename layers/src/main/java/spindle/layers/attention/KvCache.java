// SPDX-License-Identifier: Apache-2.0
package spindle.layers.attention;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.autograd.Memory;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Joins;

/**
 * The keys (after RoPE) and values of the tokens seen so far, K and V [B, Hkv, T, D], for one
 * {@link MultiHeadAttention} layer. Storage grows by doubling, so a decode step copies only its new token.
 * Meant for generation under no-grad; with grad on, gradients reach the new tokens' k and v only.
 */
public final class KvCache implements AttentionCache {
    private final int kvHeads;
    private final int headDim;
    private INDArray keys;     // [B, Hkv, capacity, D]
    private INDArray values;
    private long length;

    public KvCache(int kvHeads, int headDim) {
        this.kvHeads = kvHeads;
        this.headDim = headDim;
    }

    /** Appends k and v [B, Hkv, T, D] and returns all keys and values so far, [B, Hkv, length(), D]. */
    Tensor[] append(Tensor k, Tensor v) {
        long[] ks = k.shape();
        if (ks.length != 4 || ks[1] != kvHeads || ks[3] != headDim || !Arrays.equals(ks, v.shape())
            || (keys != null && (ks[0] != keys.size(0) || k.dtype() != keys.dataType()))) {
            throw new IllegalArgumentException("KvCache: k " + Arrays.toString(ks) + " and v " + Arrays.toString(v.shape())
                + " must both be [B, " + kvHeads + ", T, " + headDim + "]" + (keys == null ? "" : " with B = "
                + keys.size(0) + " and dtype " + keys.dataType() + " as cached so far; clear() before a new batch"));
        }
        long t = ks[2];
        INDArray oldKeys = keys == null ? null : span(keys, 0, length);
        INDArray oldValues = values == null ? null : span(values, 0, length);
        boolean recording = Tape.isRecording(k, v);
        if (keys == null || length + t > keys.size(2)) {
            long capacity = Math.max(length + t, keys == null ? t : 2 * keys.size(2));
            keys = grow(keys, k, capacity);
            values = grow(values, k, capacity);
        }
        span(keys, length, length + t).assign(k.value());
        span(values, length, length + t).assign(v.value());
        length += t;
        if (recording && oldKeys != null) {
            // the cached prefix is a constant; only the new tokens' k and v get gradients
            return new Tensor[] {Joins.concat(2, Tensor.of(oldKeys.dup()), k), Joins.concat(2, Tensor.of(oldValues.dup()), v)};
        }
        return new Tensor[] {recording ? k : Tensor.of(span(keys, 0, length)), recording ? v : Tensor.of(span(values, 0, length))};
    }

    /** New storage of {@code capacity} tokens holding the cached ones; the old storage is freed (no graph reads it). */
    private INDArray grow(INDArray old, Tensor k, long capacity) {
        INDArray fresh = Nd4j.createUninitialized(k.dtype(), k.size(0), kvHeads, capacity, headDim);
        if (old != null) {
            span(fresh, 0, length).assign(span(old, 0, length));
            Memory.release(old);
        }
        return fresh;
    }

    private static INDArray span(INDArray a, long from, long to) {
        INDArrayIndex all = NDArrayIndex.all();
        return a.get(all, all, NDArrayIndex.interval(from, to), all);
    }

    @Override
    public long length() {
        return length;
    }

    /** 2 · Hkv · D: one key and one value vector per key/value head. */
    @Override
    public long numbersPerToken() {
        return 2L * kvHeads * headDim;
    }

    @Override
    public void clear() {
        Memory.release(keys);
        Memory.release(values);
        keys = null;
        values = null;
        length = 0;
    }
}
