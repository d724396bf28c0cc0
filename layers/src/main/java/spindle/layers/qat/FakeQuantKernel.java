// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.kernels.NativeFakeQuant;

/**
 * One fake quantization of the blocks of {@code block} consecutive values (c order) of an array, in Java over a bulk
 * copy of its values ({@link HostValues}): per block, one pass for the min and max and one that computes each code,
 * the clamp and the dequantized value with {@link QuantGrid}'s formulas, rounded to the dtype after every operation
 * as torch rounds them ({@link FloatFakeQuant} for the float32 grids that multiply by 1/scale, or the same loops in
 * native code, {@link NativeFakeQuant}, when the array lies dense in its buffer). Backward keeps only
 * what the gradient needs: per block the scale and 1/scale, and one bit per element, set where the code was within
 * [qmin, qmax] (the gradient passes there).
 */
final class FakeQuantKernel {
    private final QuantGrid grid;
    private final Precision p;
    private final int block;
    private final double[] scale;
    private final double[] inverse;
    private final long[] pass;
    /** The fake-quantized values, in the input's dtype and shape. */
    final INDArray out;

    FakeQuantKernel(QuantGrid grid, INDArray values, int block, Precision p) {
        this.grid = grid;
        this.p = p;
        this.block = block;
        int blocks = (int) (values.length() / block);
        scale = new double[blocks];
        inverse = new double[blocks];
        pass = new long[(int) ((values.length() + 63) >>> 6)];
        out = FloatFakeQuant.handles(grid, p) ? quantizeFloats(values) : quantizeDoubles(values);
    }

    private INDArray quantizeFloats(INDArray values) {
        if (NativeFakeQuant.fits(block, values)) {
            INDArray out = Nd4j.createUninitialized(DataType.FLOAT, values.shape(), 'c');
            NativeFakeQuant.quantize(grid.nativeGrid(), values, out, block, scale, inverse, pass);
            return out;
        }
        float[] v = HostValues.readFloats(values);
        for (int b = 0; b < scale.length; b++) {
            double[] range = FloatFakeQuant.minMax(v, b * block, block);
            FloatFakeQuant.quantize(grid, v, b * block, block, keep(b, grid.rowParams(range[0], range[1], p)), pass);
        }
        return HostValues.write(v, values.shape());
    }

    private INDArray quantizeDoubles(INDArray values) {
        double[] v = HostValues.readDoubles(values);
        double lo = grid.lo;
        double hi = grid.hi;
        for (int b = 0; b < scale.length; b++) {
            double[] qp = keep(b, grid.params(v, b * block, block, p));
            for (int i = b * block; i < (b + 1) * block; i++) {
                double code = grid.code(v[i], qp, p);
                if (code >= lo && code <= hi) {   // torch.clamp's backward passes the bounds; NaN does not pass
                    pass[i >>> 6] |= 1L << i;
                }
                v[i] = grid.dequantize(code < lo ? lo : code > hi ? hi : code, qp, p);
            }
        }
        return HostValues.write(v, values.dataType(), values.shape());
    }

    /** Keeps block b's scale and 1/scale for backward; returns qp. */
    private double[] keep(int b, double[] qp) {
        scale[b] = qp[0];
        inverse[b] = qp[2];
        return qp;
    }

    /**
     * d out / d values applied to the upstream gradient g (the values' shape): (g * scale) * (1/scale), or
     * (g * scale) / scale for tinygemm, where the code passed the clamp, else 0.
     */
    INDArray passGradient(INDArray g) {
        if (FloatFakeQuant.handles(grid, p) && NativeFakeQuant.fits(block, g)) {
            INDArray out = Nd4j.createUninitialized(DataType.FLOAT, g.shape(), 'c');
            NativeFakeQuant.passGradient(g, out, block, scale, inverse, pass);
            return out;
        }
        if (FloatFakeQuant.handles(grid, p)) {
            float[] d = HostValues.readFloats(g);
            for (int b = 0; b < scale.length; b++) {
                FloatFakeQuant.passGradient(d, b * block, block, scale[b], inverse[b], pass);
            }
            return HostValues.write(d, g.shape());
        }
        double[] d = HostValues.readDoubles(g);
        boolean divides = grid == QuantGrid.UINT4_TINYGEMM;
        for (int b = 0; b < scale.length; b++) {
            for (int i = b * block; i < (b + 1) * block; i++) {
                boolean passes = (pass[i >>> 6] >>> i & 1L) != 0;
                double viaScale = p.r(d[i] * scale[b]);
                d[i] = !passes ? 0 : divides ? p.r(viaScale / scale[b]) : p.r(viaScale * inverse[b]);
            }
        }
        return HostValues.write(d, g.dataType(), g.shape());
    }
}
