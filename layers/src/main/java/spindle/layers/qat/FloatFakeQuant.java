// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

/**
 * The float32 loops of {@link FakeQuantKernel} for the grids that multiply by 1/scale (8da4w's activations and
 * weights, int8 weight-only): the per-element formulas of {@link QuantGrid} written in float arithmetic, which
 * rounds each operation as torch's float32 kernels do, in one tight loop per block. They run at the launcher's
 * C1 JIT level, which inlines little, so the rounding is written out rather than called.
 */
final class FloatFakeQuant {
    /**
     * 1.5 * 2^23: for |x| < 2^22, (x + ROUND) - ROUND is x rounded half to even (the sum's ulp is 1). Codes stay
     * within the grid's range plus rounding (scale >= amax / ((qmax - qmin) / 2)), far inside that bound.
     */
    private static final float ROUND = 0x1.8p23f;

    private FloatFakeQuant() {}

    /** True when these loops compute {@code grid} in precision {@code p}. */
    static boolean handles(QuantGrid grid, Precision p) {
        return p == Precision.FLOAT32 && grid != QuantGrid.UINT4_TINYGEMM;
    }

    /**
     * {min, max} of v[off, off + n), NaN when one is NaN. Plain comparisons: at C1, Math.min and Math.max are
     * calls, which made this pass cost more than the quantization itself.
     */
    static double[] minMax(float[] v, int off, int n) {
        float min = v[off];
        float max = v[off];
        boolean nan = false;
        for (int i = off; i < off + n; i++) {
            float x = v[i];
            if (x < min) {
                min = x;
            } else if (x > max) {
                max = x;
            }
            nan |= x != x;
        }
        return nan ? new double[] {Double.NaN, Double.NaN} : new double[] {min, max};
    }

    /**
     * Replaces v[off, off + n) by its fake-quantized values on the block's {scale, zero point, 1/scale} and sets
     * the bit of each element whose code the clamp left alone (bounds included; NaN never passes).
     */
    static void quantize(QuantGrid grid, float[] v, int off, int n, double[] qp, long[] pass) {
        float scale = (float) qp[0];
        float zp = (float) qp[1];
        float inverse = (float) qp[2];
        float lo = (float) grid.lo;
        float hi = (float) grid.hi;
        boolean asymmetric = grid == QuantGrid.INT8_ASYMMETRIC;
        for (int i = off; i < off + n; i++) {
            float x = v[i] * inverse;
            float c = (x + ROUND) - ROUND;
            if (asymmetric) {
                c += zp;
            } else if (c == 0f && Float.floatToRawIntBits(x) < 0) {
                c = -0f;   // torch.round keeps the sign of a zero, and q * scale shows it
            }
            if (c >= lo && c <= hi) {
                pass[i >>> 6] |= 1L << i;
            } else {
                c = c < lo ? lo : c > hi ? hi : c;
            }
            v[i] = (c - zp) * scale;   // symmetric grids: zp = 0 and q - 0 = q, so this is q * scale
        }
    }

    /** g[off, off + n) becomes (g * scale) * (1/scale) where the element passed the clamp, else 0. */
    static void passGradient(float[] g, int off, int n, double scale, double inverse, long[] pass) {
        float s = (float) scale;
        float inv = (float) inverse;
        for (int i = off; i < off + n; i++) {
            g[i] = (pass[i >>> 6] >>> i & 1L) != 0 ? g[i] * s * inv : 0f;
        }
    }
}
