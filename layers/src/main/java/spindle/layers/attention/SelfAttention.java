// SPDX-License-Identifier: Apache-2.0
package spindle.layers.attention;

import spindle.autograd.Tensor;
import spindle.layers.Module;

/**
 * The attention sub-layer of a decoder block, causal over the sequence. Training passes no cache; inference
 * passes the cache from {@link #newCache()}: the new tokens take positions {@code cache.length()} onwards,
 * attend to everything cached before them, and are appended to it.
 */
public abstract class SelfAttention extends Module {
    /** x [B, T, hidden] → [B, T, hidden]; {@code cache} is null in training. */
    public abstract Tensor forward(Tensor x, AttentionCache cache);

    /** An empty cache in this attention's preferred inference form. */
    public abstract AttentionCache newCache();
}
