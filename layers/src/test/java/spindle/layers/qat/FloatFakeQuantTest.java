// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Elementwise;
import spindle.autograd.ops.Reductions;

/**
 * The float32 loops of {@link FloatFakeQuant} bit for bit (the sign of zero included) against {@link QuantGrid}'s
 * per-element formulas rounded through {@link Precision#FLOAT32}, on random blocks with many ties (values on
 * multiples of scale / 2), clamped codes and zeros of both signs; and the fake quantizers on a strided view
 * equal to the same values copied dense, values and gradients.
 */
class FloatFakeQuantTest {
    private static final QuantGrid[] GRIDS = {QuantGrid.INT8_ASYMMETRIC, QuantGrid.INT4_SYMMETRIC, QuantGrid.INT8_SYMMETRIC};

    @Test
    void floatLoopsEqualTheReferenceFormulasBitForBit() {
        SplittableRandom rng = new SplittableRandom(7);
        int block = 32;
        for (QuantGrid grid : GRIDS) {
            for (int trial = 0; trial < 200; trial++) {
                float[] v = block(rng, block, trial);
                double[] range = FloatFakeQuant.minMax(v, 0, block);
                double[] qp = grid.rowParams(range[0], range[1], Precision.FLOAT32);
                float[] want = new float[block];
                boolean[] wantPass = new boolean[block];
                for (int i = 0; i < block; i++) {
                    double code = grid.code(v[i], qp, Precision.FLOAT32);
                    wantPass[i] = code >= grid.lo && code <= grid.hi;
                    double q = Math.min(Math.max(code, grid.lo), grid.hi);
                    want[i] = (float) grid.dequantize(q, qp, Precision.FLOAT32);
                }
                long[] pass = new long[1];
                float[] got = v.clone();
                FloatFakeQuant.quantize(grid, got, 0, block, qp, pass);
                for (int i = 0; i < block; i++) {
                    String at = grid + " trial " + trial + " element " + i + " (x = " + v[i] + ")";
                    assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), at + ": " + want[i] + " vs " + got[i]);
                    assertEquals(wantPass[i], (pass[0] >>> i & 1) != 0, at + ": clamp mask");
                }
            }
        }
    }

    @Test
    void minMaxIsTheBlocksRangeAndNaNWhenAValueIsNaN() {
        float[] v = {0.5f, -3f, 7f, -0f, 2f, 9f, -4f, 1f};
        assertArrayEquals(new double[] {-4, 9}, FloatFakeQuant.minMax(v, 1, 6));
        assertArrayEquals(new double[] {-3, 7}, FloatFakeQuant.minMax(v, 1, 2));
        v[3] = Float.NaN;
        assertTrue(Double.isNaN(FloatFakeQuant.minMax(v, 0, 8)[0]) && Double.isNaN(FloatFakeQuant.minMax(v, 0, 8)[1]));
        assertArrayEquals(new double[] {0.5, 0.5}, FloatFakeQuant.minMax(v, 0, 1));
    }

    @Test
    void aStridedViewQuantizesAsItsDenseCopy() {
        INDArray base = FakeQuantTorchParityTest.random(11, DataType.FLOAT, 64, 48);
        INDArray view = base.transpose();   // [48, 64], f order
        INDArray seed = FakeQuantTorchParityTest.random(12, DataType.FLOAT, 48, 64);
        float[][] viewResults = run(view, seed);
        float[][] denseResults = run(view.dup('c'), seed);
        for (int k = 0; k < 2; k++) {
            for (int i = 0; i < viewResults[k].length; i++) {
                assertEquals(denseResults[k][i], viewResults[k][i], (k == 0 ? "value " : "gradient ") + i);
            }
        }
    }

    /** {y, dy/dx} of int8 per token followed by int4 symmetric (group 16) on x, gradients through sum(y * seed). */
    private static float[][] run(INDArray x, INDArray seed) {
        Tensor t = Tensor.of(x).requiresGrad(true);
        Tensor y = FakeQuant.int4Symmetric(FakeQuant.int8PerToken(t), 16).keep();
        Reductions.sum(Elementwise.mul(y, Tensor.of(seed))).backward();
        return new float[][] {y.value().dup('c').data().asFloat(), t.grad().dup('c').data().asFloat()};
    }

    /** Random values, then a share of them moved onto exact ties, zeros of both signs and one outlier to clamp. */
    static float[] block(SplittableRandom rng, int n, int trial) {
        float[] v = new float[n];
        float unit = (float) Math.scalb(1.0, -rng.nextInt(1, 8));
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rng.nextGaussian() * 4 * unit);
        }
        for (int i = 0; i < n / 2; i++) {
            v[rng.nextInt(n)] = (rng.nextInt(-40, 40) + 0.5f) * unit / 4;   // ties once scaled by a power of two
        }
        v[rng.nextInt(n)] = 0f;
        v[rng.nextInt(n)] = -0f;
        if (trial % 3 == 0) {
            v[rng.nextInt(n)] = 0.1f * unit;   // a small value that rounds to zero of either sign
            v[rng.nextInt(n)] = -0.1f * unit;
        }
        return v;
    }
}
