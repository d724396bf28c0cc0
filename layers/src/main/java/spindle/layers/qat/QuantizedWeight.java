// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A linear's weight as torchao's convert step stores it: int8 codes [out, in] (int4 symmetric in -8..7,
 * tinygemm uint4 in 0..15, int8 in -128..127), scales [out, groups] and, for int4 weight-only only, float
 * zero points [out, groups] (null otherwise); scales and zeros keep the float weight's dtype. The codes and
 * parameters are the fake quantizer's own (see {@link QuantGrid}), so {@link #dequantize()} gives back exactly
 * the fake-quantized weight the model was trained with.
 */
public record QuantizedWeight(QatScheme scheme, INDArray codes, INDArray scales, INDArray zeros) {
    public QuantizedWeight {
        if (scheme == null || codes == null || scales == null) {
            throw new IllegalArgumentException("QuantizedWeight: scheme, codes and scales must be given");
        }
        if ((zeros != null) != (scheme == QatScheme.INT4_WEIGHT_ONLY)) {
            throw new IllegalArgumentException("QuantizedWeight: zeros go with int4wo only, not " + scheme.id());
        }
    }

    /** Quantizes a float weight [out, in] with {@code scheme} (groupSize is ignored by int8 per channel). */
    public static QuantizedWeight quantize(INDArray weight, QatScheme scheme, int groupSize) {
        long[] shape = weight.shape();
        if (shape.length != 2 || shape[0] == 0 || shape[1] == 0) {
            throw new IllegalArgumentException("quantize: weight must be a non-empty [out, in] matrix but has shape "
                + Arrays.toString(shape));
        }
        int out = (int) shape[0];
        int in = (int) shape[1];
        int group = scheme.groupFor(in, groupSize);
        if (group < 1 || in % group != 0) {
            throw new IllegalArgumentException("quantize: group_size " + groupSize + " must be positive and divide "
                + "the input size " + in + " of weight " + Arrays.toString(shape));
        }
        Precision p = Precision.of(weight.dataType(), "quantize");
        QuantGrid grid = scheme.weightGrid();
        double[] v = weight.dup('c').data().asDouble();
        byte[] codes = new byte[v.length];
        double[] scales = new double[v.length / group];
        double[] zeros = new double[scales.length];
        for (int b = 0; b < scales.length; b++) {
            double[] qp = grid.params(v, b * group, group, p);
            scales[b] = qp[0];
            zeros[b] = qp[1];
            for (int i = b * group; i < (b + 1) * group; i++) {
                codes[i] = (byte) Math.min(Math.max(grid.code(v[i], qp, p), grid.lo), grid.hi);
            }
        }
        DataType dtype = weight.dataType();
        return new QuantizedWeight(scheme, Nd4j.createFromArray(codes).reshape('c', out, in),
            floats(scales, dtype, out), scheme == QatScheme.INT4_WEIGHT_ONLY ? floats(zeros, dtype, out) : null);
    }

    /** The float weight [out, in] these codes stand for, in the scales' dtype: q * scale, or (q - 8) * scale + zero. */
    public INDArray dequantize() {
        Precision p = Precision.of(scales.dataType(), "dequantize");
        QuantGrid grid = scheme.weightGrid();
        long[] shape = codes.shape();
        double[] q = codes.dup('c').data().asDouble();
        double[] s = scales.dup('c').data().asDouble();
        double[] z = zeros == null ? new double[s.length] : zeros.dup('c').data().asDouble();
        int group = q.length / s.length;
        double[] w = new double[q.length];
        for (int b = 0; b < s.length; b++) {
            double[] qp = {s[b], z[b]};
            for (int i = b * group; i < (b + 1) * group; i++) {
                w[i] = grid.dequantize(q[i], qp, p);
            }
        }
        return Nd4j.create(w, shape, 'c').castTo(scales.dataType());
    }

    /** Inputs per group: in / the number of scale columns. */
    public int groupSize() {
        return (int) (codes.shape()[1] / scales.shape()[1]);
    }

    private static INDArray floats(double[] values, DataType dtype, int rows) {
        return Nd4j.create(values, new long[] {rows, values.length / rows}, 'c').castTo(dtype);
    }
}
