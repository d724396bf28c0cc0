// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Rint;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * One fake quantization as whole-array ND4J ops on the blocks as rows [blocks, block]: the per-row min and max are
 * native reductions, the few per-row parameters come from {@link QuantGrid#rowParams} in Java, and every
 * elementwise step is one native op in the values' dtype, in {@link QuantGrid}'s order, so each result is rounded
 * exactly as the per-element formulas round it (a float32 op is the correctly rounded float result).
 */
final class FakeQuantKernel {
    /** Per-row scale, zero point and 1/scale as [blocks, 1] columns of the values' dtype. */
    final INDArray scale;
    final INDArray zeroPoint;
    final INDArray inverse;
    /** 1 where the code was within [qmin, qmax] (the gradient passes), 0 where the clamp clamped it. */
    final INDArray pass;
    /** The fake-quantized rows. */
    final INDArray out;
    private final QuantGrid grid;

    FakeQuantKernel(QuantGrid grid, INDArray rows, Precision p) {
        this.grid = grid;
        int blocks = (int) rows.size(0);
        double[] min = rows.min(1).data().asDouble();
        double[] max = rows.max(1).data().asDouble();
        double[][] cols = new double[3][blocks];
        for (int b = 0; b < blocks; b++) {
            double[] qp = grid.rowParams(min[b], max[b], p);
            for (int k = 0; k < 3; k++) {
                cols[k][b] = qp[k];
            }
        }
        scale = column(cols[0], rows);
        zeroPoint = column(cols[1], rows);
        inverse = column(cols[2], rows);
        INDArray q = codes(rows);
        pass = q.gte(grid.lo).castTo(rows.dataType()).muli(q.lte(grid.hi).castTo(rows.dataType()));
        out = dequantize(Transforms.min(Transforms.max(q, grid.lo, false), grid.hi, false));
    }

    /** d out / d rows applied to the upstream gradient rows g: g * scale then * (1/scale) (or / scale), masked. */
    INDArray passGradient(INDArray g) {
        INDArray viaScale = g.mulColumnVector(scale);
        INDArray dx = grid == QuantGrid.UINT4_TINYGEMM ? viaScale.diviColumnVector(scale) : viaScale.muliColumnVector(inverse);
        return dx.muli(pass);
    }

    /** The codes before the clamp, as {@link QuantGrid#code}. */
    private INDArray codes(INDArray v) {
        return switch (grid) {
            case INT8_ASYMMETRIC -> rint(v.mulColumnVector(inverse)).addiColumnVector(zeroPoint);
            case UINT4_TINYGEMM -> rint(v.subColumnVector(zeroPoint.sub(scale.mul(8))).diviColumnVector(scale));
            default -> rint(v.mulColumnVector(inverse));
        };
    }

    /** The values of the clamped codes q (in place), as {@link QuantGrid#dequantize}. */
    private INDArray dequantize(INDArray q) {
        return switch (grid) {
            case INT8_ASYMMETRIC -> q.subiColumnVector(zeroPoint).muliColumnVector(scale);
            case UINT4_TINYGEMM -> q.subi(8).muliColumnVector(scale).addiColumnVector(zeroPoint);
            default -> q.muliColumnVector(scale);
        };
    }

    /** Round half to even, in place (Math.rint, torch.round). */
    private static INDArray rint(INDArray x) {
        return Nd4j.getExecutioner().exec(new Rint(x, x));
    }

    private static INDArray column(double[] v, INDArray like) {
        return Nd4j.create(v, new long[] {v.length, 1}, 'c').castTo(like.dataType());
    }
}
