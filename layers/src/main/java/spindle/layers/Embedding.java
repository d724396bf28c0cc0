// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import org.nd4j.linalg.api.buffer.DataType;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Indexing;

/** A lookup table [vocab, dim] under key "weight", as nn.Embedding (embed_tokens, wte). */
public final class Embedding extends Layer {
    private final Tensor weight;

    public Embedding(int vocab, int dim, DataType dtype, Init init) {
        Check.positive(vocab, "vocab_size");
        Check.positive(dim, "embedding_dim");
        weight = param("weight", init.create(dtype, vocab, dim));
    }

    /** ids [...] (INT64 or INT32) → [..., dim]; an id outside [0, vocab) is an error naming it. */
    @Override
    public Tensor forward(Tensor ids) {
        return Indexing.embedding(weight, ids);
    }

    public Tensor weight() {
        return weight;
    }
}
