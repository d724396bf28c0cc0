// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import static spindle.autograd.ops.Elementwise.add;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Shapes;

/**
 * The fixed position encoding of "Attention Is All You Need" (section 3.5), added to the input:
 * PE[p, 2i] = sin(p / 10000^(2i/D)), PE[p, 2i+1] = cos(p / 10000^(2i/D)). The table [maxPositions, D] is a
 * non-persistent buffer "pe": rebuilt from the sizes, never in a state dict.
 */
public final class SinusoidalPositions extends Layer {
    private final Tensor table;   // a constant: no gradient flows into it

    public SinusoidalPositions(int maxPositions, int dim, DataType dtype) {
        Check.positive(maxPositions, "max_position_embeddings");
        Check.even(Check.positive(dim, "hidden_size"), "hidden_size");
        // computed in float64, then cast once, so float32 tables are correctly rounded
        double[] pe = new double[maxPositions * dim];
        for (int p = 0; p < maxPositions; p++) {
            for (int i = 0; i < dim / 2; i++) {
                double angle = p / Math.pow(10000, 2.0 * i / dim);
                pe[p * dim + 2 * i] = Math.sin(angle);
                pe[p * dim + 2 * i + 1] = Math.cos(angle);
            }
        }
        table = Tensor.of(buffer("pe", Nd4j.create(pe, new long[] {maxPositions, dim}, DataType.DOUBLE).castTo(dtype), false));
    }

    /** x [B, T, D] at positions 0 .. T - 1. */
    @Override
    public Tensor forward(Tensor x) {
        return forward(x, 0);
    }

    /** x [B, T, D] (or [..., T, D]) at positions startPos .. startPos + T - 1 → x + PE[those rows]. */
    public Tensor forward(Tensor x, long startPos) {
        return addRows("SinusoidalPositions", x, table, startPos);
    }

    /**
     * x + table[startPos .. startPos + T - 1], the rows broadcast over the leading dims of x [..., T, D];
     * shared with {@link LearnedPositions}, whose table is a parameter and so receives the gradient.
     */
    static Tensor addRows(String where, Tensor x, Tensor table, long startPos) {
        long[] xs = x.shape();
        long max = table.shape()[0];
        long dim = table.shape()[1];
        if (xs.length < 2 || xs[xs.length - 1] != dim) {
            throw new IllegalArgumentException(where + ".forward: x has shape " + Arrays.toString(xs)
                + "; it must be [B, T, " + dim + "]");
        }
        if (x.dtype() != table.dtype()) {
            throw new IllegalArgumentException(where + ".forward: x is " + x.dtype() + " but the table is " + table.dtype());
        }
        long t = xs[xs.length - 2];
        if (startPos < 0 || startPos + t > max) {
            throw new IllegalArgumentException(where + ".forward: positions " + startPos + ".." + (startPos + t - 1)
                + " are outside 0.." + (max - 1) + "; max_position_embeddings is " + max);
        }
        return add(x, Shapes.narrow(table, 0, startPos, t));
    }
}
