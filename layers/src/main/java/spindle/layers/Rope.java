// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.autograd.Tensor;
import spindle.autograd.ops.RopeLayout;
import spindle.autograd.ops.Rotary;

/**
 * Rotary position embedding (RoFormer): channel pair i of a head at position p turns by the angle
 * p * theta^(-2i/D), the frequencies optionally stretched by a config's {@link RopeScaling}. The pairs follow
 * {@link RopeLayout}: Hugging Face's rotate-half (i, i + D/2) by default, or neighbouring channels. Holds its cos and sin tables [maxPositions, D]; not a Module: it has no state dict
 * entries, the tables are rebuilt from the config.
 */
public final class Rope {
    private final int rotaryDim;
    private final int maxPositions;
    private final RopeLayout layout;
    private final INDArray cos;
    private final INDArray sin;

    /**
     * @param rotaryDim   channels rotated per head (head_dim for Llama, qk_rope_head_dim for DeepSeek), even
     * @param theta       rope_theta, the base of the inverse frequencies
     * @param maxPositions max_position_embeddings: the tables' length
     * @param dtype       the model's dtype; the tables are cast to it
     */
    public Rope(int rotaryDim, double theta, int maxPositions, RopeLayout layout, DataType dtype) {
        this(rotaryDim, theta, maxPositions, layout, RopeScaling.NONE, dtype);
    }

    /** As {@link #Rope(int, double, int, RopeLayout, DataType)} with the config's rope_scaling applied to the frequencies. */
    public Rope(int rotaryDim, double theta, int maxPositions, RopeLayout layout, RopeScaling scaling, DataType dtype) {
        this.rotaryDim = Check.even(Check.positive(rotaryDim, "rotary dim (head_dim / qk_rope_head_dim)"),
            "rotary dim (head_dim / qk_rope_head_dim)");
        this.maxPositions = Check.positive(maxPositions, "max_position_embeddings");
        if (!(theta > 0) || Double.isInfinite(theta)) {
            throw new IllegalArgumentException("rope_theta must be positive and finite but is " + theta);
        }
        if (layout == null || scaling == null || dtype == null) {
            throw new IllegalArgumentException("Rope: layout, scaling and dtype must not be null");
        }
        this.layout = layout;
        float[][] tables = tables(rotaryDim, maxPositions, (float) theta, layout, scaling);
        cos = Nd4j.create(tables[0], new long[] {maxPositions, rotaryDim}, DataType.FLOAT).castTo(dtype);
        sin = Nd4j.create(tables[1], new long[] {maxPositions, rotaryDim}, DataType.FLOAT).castTo(dtype);
    }

    /**
     * x [..., T, rotaryDim] (usually [B, H, T, rotaryDim]) at positions startPos .. startPos + T - 1 → same
     * shape, one fused autograd node.
     */
    public Tensor apply(Tensor x, long startPos) {
        long[] xs = x.shape();
        if (xs.length < 2 || xs[xs.length - 1] != rotaryDim) {
            throw new IllegalArgumentException("Rope.apply: x has shape " + Arrays.toString(xs)
                + "; it must be [..., T, " + rotaryDim + "] (the rotary dim)");
        }
        long t = xs[xs.length - 2];
        if (startPos < 0 || startPos + t > maxPositions) {
            throw new IllegalArgumentException("Rope.apply: positions " + startPos + ".." + (startPos + t - 1)
                + " are outside 0.." + (maxPositions - 1) + "; max_position_embeddings is " + maxPositions);
        }
        if (x.dtype() != cos.dataType()) {
            throw new IllegalArgumentException("Rope.apply: x is " + x.dtype() + " but this Rope was built for "
                + cos.dataType());
        }
        INDArray c = cos.get(NDArrayIndex.interval(startPos, startPos + t), NDArrayIndex.all());
        INDArray s = sin.get(NDArrayIndex.interval(startPos, startPos + t), NDArrayIndex.all());
        return Rotary.rope(x, c, s, layout);
    }

    public int rotaryDim() {
        return rotaryDim;
    }

    public int maxPositions() {
        return maxPositions;
    }

    public RopeLayout layout() {
        return layout;
    }

    /** The cos table [maxPositions, rotaryDim] in the model's dtype (do not modify). */
    public INDArray cos() {
        return cos;
    }

    /** The sin table [maxPositions, rotaryDim] in the model's dtype (do not modify). */
    public INDArray sin() {
        return sin;
    }

    /**
     * cos and sin, row-major [maxPositions, dim]. Every step is float32 arithmetic, as torch_ref's rope_tables
     * and Hugging Face compute them (float32 buffers, which model.double() then casts): tables computed in
     * float64 would differ from the reference by ~1e-8 and break 1e-10 parity of float64 checkpoints. cos and
     * sin are torch's own float32 results ({@link TorchFloat32Trig}), which are not correctly rounded, on
     * torch_ref's layout [position, cat(angles, angles)] with one intra-op thread (torch with more threads gives
     * the same whenever each thread's chunk of the table starts at a multiple of 8 entries).
     */
    private static float[][] tables(int dim, int positions, float theta, RopeLayout layout, RopeScaling scaling) {
        int half = dim / 2;
        float[] unscaled = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / (float) dim;
            unscaled[i] = 1.0f / (float) Math.pow(theta, exponent);
        }
        float[] inv = scaling.apply(unscaled);
        float[] cos = new float[positions * dim];
        float[] sin = new float[positions * dim];
        // blocks of 8 rows start on one of torch's 8-lane vectors, so each block sees torch's lane grouping
        for (int p0 = 0; p0 < positions; p0 += 8) {
            int rows = Math.min(8, positions - p0);
            float[] angles = new float[rows * dim];
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < half; i++) {
                    float angle = (float) (p0 + r) * inv[i];
                    angles[r * dim + i] = angle;
                    angles[r * dim + i + half] = angle;
                }
            }
            float[] c = TorchFloat32Trig.cos(angles, 1);
            float[] s = TorchFloat32Trig.sin(angles, 1);
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < dim; j++) {
                    // interleaved channels 2i and 2i+1 take pair i's value from torch_ref's column i
                    int from = r * dim + (layout == RopeLayout.ROTATE_HALF ? j : j / 2);
                    cos[(p0 + r) * dim + j] = c[from];
                    sin[(p0 + r) * dim + j] = s[from];
                }
            }
        }
        return new float[][] {cos, sin};
    }
}
