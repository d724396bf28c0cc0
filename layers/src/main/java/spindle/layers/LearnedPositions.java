// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import org.nd4j.linalg.api.buffer.DataType;
import spindle.autograd.Tensor;

/**
 * A trained position embedding added to the input, as GPT-2's wpe: a table [maxPositions, D] under key
 * "weight" whose row p is added at position p.
 */
public final class LearnedPositions extends Layer {
    private final Tensor weight;

    public LearnedPositions(int maxPositions, int dim, DataType dtype, Init init) {
        Check.positive(maxPositions, "max_position_embeddings");
        Check.positive(dim, "hidden_size");
        weight = param("weight", init.create(dtype, maxPositions, dim));
    }

    /** x [B, T, D] at positions 0 .. T - 1. */
    @Override
    public Tensor forward(Tensor x) {
        return forward(x, 0);
    }

    /**
     * x [B, T, D] (or [..., T, D]) at positions startPos .. startPos + T - 1 → x + weight[those rows]; a
     * position beyond the table is an error naming it and max_position_embeddings.
     */
    public Tensor forward(Tensor x, long startPos) {
        return SinusoidalPositions.addRows("LearnedPositions", x, weight, startPos);
    }

    public Tensor weight() {
        return weight;
    }
}
