// SPDX-License-Identifier: Apache-2.0
package spindle.layers.attention;

import spindle.layers.Check;

/**
 * Numbers cached per token per sequence by one attention layer: MLA in both forms against multi-head
 * attention (2 * heads * headDim) and grouped-query attention (2 * gqaKvHeads * headDim) of the same model,
 * where headDim = hidden_size / num_attention_heads, the head size of a Llama-style layer of that width.
 * Multiply by layers and bytes per number for a model's cache per token.
 */
public record MlaCacheSizes(long mlaAbsorbed, long mlaNaive, long mha, long gqa, int gqaKvHeads, int headDim) {
    /** The sizes for {@code dims} and a GQA layer with {@code gqaKvHeads} key/value heads. */
    public static MlaCacheSizes of(MlaDims dims, int gqaKvHeads) {
        Check.positive(gqaKvHeads, "num_key_value_heads");
        Check.divisible(dims.heads(), "num_attention_heads", gqaKvHeads, "num_key_value_heads");
        Check.divisible(dims.hidden(), "hidden_size", dims.heads(), "num_attention_heads");
        int headDim = dims.hidden() / dims.heads();
        return new MlaCacheSizes(MultiHeadLatentAttention.cacheNumbersPerToken(dims, MlaCacheForm.ABSORBED),
            MultiHeadLatentAttention.cacheNumbersPerToken(dims, MlaCacheForm.NAIVE),
            2L * dims.heads() * headDim, 2L * gqaKvHeads * headDim, gqaKvHeads, headDim);
    }

    /** The absorbed MLA cache as a fraction of the MHA cache. */
    public double absorbedOverMha() {
        return (double) mlaAbsorbed / mha;
    }

    /** The absorbed MLA cache as a fraction of the GQA cache. */
    public double absorbedOverGqa() {
        return (double) mlaAbsorbed / gqa;
    }

    /** One line, e.g. "per token per layer: MLA absorbed 80, MLA naive 640, MHA 512, GQA (4 kv heads) 256, ...". */
    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "per token per layer: MLA absorbed %d, MLA naive %d, MHA %d,"
            + " GQA (%d kv heads) %d numbers (head dim %d); absorbed/MHA %.4f, absorbed/GQA %.4f",
            mlaAbsorbed, mlaNaive, mha, gqaKvHeads, gqa, headDim, absorbedOverMha(), absorbedOverGqa());
    }
}
