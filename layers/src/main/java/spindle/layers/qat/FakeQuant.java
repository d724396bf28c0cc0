// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import java.util.Arrays;
import spindle.autograd.Tensor;

/**
 * Differentiable fake quantization with torchao's numerics: x_fq = dequantize(clamp(round(...), qmin, qmax)).
 * Rounding is half to even ({@link Math#rint}, as torch.round) with a straight-through gradient; the clamp
 * gives a zero gradient to every element it clamps (an element landing exactly on qmin or qmax passes, as
 * torch.clamp's backward); scales and zero points are recomputed from the values at every forward and carry
 * no gradient. So d x_fq / d x = scale * (1/scale) where the code is within [qmin, qmax], else 0.
 * The formulas of each grid are on {@link QuantGrid}.
 */
public final class FakeQuant {
    private FakeQuant() {}

    /** 8da4w activations: int8 asymmetric, one scale and zero point per row of the last dimension. */
    public static Tensor int8PerToken(Tensor x) {
        long[] shape = x.shape();
        if (shape.length == 0 || shape[shape.length - 1] == 0) {
            throw new IllegalArgumentException("int8PerToken: x needs a non-empty last dimension but has shape "
                + Arrays.toString(shape));
        }
        return ActivationQuantCache.of(x, () -> int8PerTokenOf(x)).over(x);
    }

    /** The int8 per-token quantization of x computed now, not taken from {@link ActivationQuantCache}. */
    static SharedQuantization int8PerTokenOf(Tensor x) {
        long[] shape = x.shape();
        return compute("fq_int8_per_token", x, (int) shape[shape.length - 1], QuantGrid.INT8_ASYMMETRIC);
    }

    /**
     * The fake quantization of {@code weight} [out, in] by {@code scheme}, to record over the weight with
     * {@link SharedQuantization#over} (the same values and gradients as {@link QatScheme#fakeQuantizeWeight}).
     */
    static SharedQuantization weight(QatScheme scheme, Tensor weight, int groupSize) {
        return switch (scheme) {
            case INT8_DYN_ACT_INT4_WEIGHT -> compute("fq_int4_symmetric", weight,
                groupOf(weight, groupSize, "int4Symmetric"), QuantGrid.INT4_SYMMETRIC);
            case INT4_WEIGHT_ONLY -> compute("fq_int4_weight_only", weight,
                groupOf(weight, groupSize, "int4WeightOnly"), QuantGrid.UINT4_TINYGEMM);
            case INT8_WEIGHT_ONLY -> {
                groupOf(weight, 1, "int8PerChannel");
                yield compute("fq_int8_per_channel", weight, (int) weight.shape()[1], QuantGrid.INT8_SYMMETRIC);
            }
        };
    }

    /** 8da4w weights [out, in]: int4 symmetric, one scale per group of groupSize consecutive inputs of a row. */
    public static Tensor int4Symmetric(Tensor weight, int groupSize) {
        return apply("fq_int4_symmetric", weight, groupOf(weight, groupSize, "int4Symmetric"), QuantGrid.INT4_SYMMETRIC);
    }

    /** int4 weight-only (tinygemm) weights [out, in]: uint4 with a float zero point per group. */
    public static Tensor int4WeightOnly(Tensor weight, int groupSize) {
        return apply("fq_int4_weight_only", weight, groupOf(weight, groupSize, "int4WeightOnly"),
            QuantGrid.UINT4_TINYGEMM);
    }

    /** int8 weight-only weights [out, in]: symmetric, one scale per output channel (row). */
    public static Tensor int8PerChannel(Tensor weight) {
        groupOf(weight, 1, "int8PerChannel");
        return apply("fq_int8_per_channel", weight, (int) weight.shape()[1], QuantGrid.INT8_SYMMETRIC);
    }

    /** Checks weight is [out, in] with in a positive multiple of groupSize; returns groupSize. */
    private static int groupOf(Tensor weight, int groupSize, String op) {
        long[] shape = weight.shape();
        if (shape.length != 2 || shape[0] == 0 || shape[1] == 0) {
            throw new IllegalArgumentException(op + ": weight must be a non-empty [out, in] matrix but has shape "
                + Arrays.toString(shape));
        }
        if (groupSize < 1 || shape[1] % groupSize != 0) {
            throw new IllegalArgumentException(op + ": group_size " + groupSize + " must be positive and divide "
                + "the input size " + shape[1] + " of weight " + Arrays.toString(shape));
        }
        return groupSize;
    }

    /** Fake-quantizes each block of {@code block} consecutive elements (c order) on its own parameters. */
    private static Tensor apply(String op, Tensor x, int block, QuantGrid grid) {
        return compute(op, x, block, grid).over(x);
    }

    private static SharedQuantization compute(String op, Tensor x, int block, QuantGrid grid) {
        return new SharedQuantization(op, new FakeQuantKernel(grid, x.value(), block, Precision.of(x.dtype(), op)));
    }
}
