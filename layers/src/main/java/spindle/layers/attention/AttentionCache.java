// SPDX-License-Identifier: Apache-2.0
package spindle.layers.attention;

/** What one attention layer keeps of the tokens seen so far during generation. */
public interface AttentionCache {
    /** Tokens cached so far: the position the next token takes. */
    long length();

    /** Numbers stored per token per sequence for this layer (e.g. 2 * kvHeads * headDim for a K/V cache). */
    long numbersPerToken();

    /** Frees the cached arrays. */
    void clear();
}
