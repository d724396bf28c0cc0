// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import spindle.autograd.kernels.NativeFakeQuant;

/**
 * The integer grids of torchao's fake quantizers. Each block of consecutive elements (a token's row, a
 * weight group or an output channel) gets its quantization parameters from its own values: {scale, zero
 * point, 1/scale}. Every operation is rounded to the dtype in torch's order, since ties decide codes.
 */
enum QuantGrid {
    /**
     * int8 asymmetric activations: min_neg = min(min(x), 0), max_pos = max(max(x), 0),
     * scale = max((max_pos - min_neg) / 255, eps_float32), zp = clamp(-128 - round(min_neg / scale), -128, 127),
     * q = round(x * (1/scale)) + zp, x_fq = (q - zp) * scale.
     */
    INT8_ASYMMETRIC(-128, 127),
    /** int4 symmetric: scale = max(amax / 7.5, smallest normal), q = round(w * (1/scale)), w_fq = q * scale. */
    INT4_SYMMETRIC(-8, 7),
    /** int8 symmetric: scale = max(amax / 127.5, smallest normal), q = round(w * (1/scale)), w_fq = q * scale. */
    INT8_SYMMETRIC(-128, 127),
    /**
     * uint4 with a float zero point (tinygemm): scale = max((max - min) / 15, 1e-6), zp = min + 8 * scale,
     * q = round((w - (zp - 8 * scale)) / scale), w_fq = (q - 8) * scale + zp.
     */
    UINT4_TINYGEMM(0, 15);

    final double lo;
    final double hi;

    QuantGrid(double lo, double hi) {
        this.lo = lo;
        this.hi = hi;
    }

    /** The native kernel's number for this grid; tinygemm's, which divides by the scale, has none. */
    NativeFakeQuant.Grid nativeGrid() {
        return switch (this) {
            case INT8_ASYMMETRIC -> NativeFakeQuant.Grid.INT8_ASYMMETRIC;
            case INT4_SYMMETRIC -> NativeFakeQuant.Grid.INT4_SYMMETRIC;
            case INT8_SYMMETRIC -> NativeFakeQuant.Grid.INT8_SYMMETRIC;
            case UINT4_TINYGEMM -> throw new IllegalStateException("tinygemm has no native fake quantization");
        };
    }

    /** {scale, zero point, 1/scale} of the block v[off, off + n); the zero point is 0 for symmetric grids. */
    double[] params(double[] v, int off, int n, Precision p) {
        double min = v[off];
        double max = v[off];
        for (int i = off + 1; i < off + n; i++) {
            min = Math.min(min, v[i]);
            max = Math.max(max, v[i]);
        }
        return rowParams(min, max, p);
    }

    /** {scale, zero point, 1/scale} of a block whose smallest value is min and largest max. */
    double[] rowParams(double min, double max, Precision p) {
        double scale;
        double zp = 0;
        switch (this) {
            case INT8_ASYMMETRIC -> {
                double minNeg = Math.min(min, 0);
                scale = Math.max(p.r(p.r(Math.max(max, 0) - minNeg) / 255.0), Precision.FLOAT32_EPS);
                zp = Math.min(Math.max(-128 - Math.rint(p.r(minNeg / scale)), -128), 127);
            }
            case UINT4_TINYGEMM -> {
                scale = Math.max(p.r(p.r(max - min) / 15.0), p.r(1e-6));
                zp = p.r(min + p.r(8 * scale));
            }
            default -> {
                double amax = Math.max(-Math.min(min, 0), Math.max(max, 0));
                scale = Math.max(p.r(amax / (this == INT4_SYMMETRIC ? 7.5 : 127.5)), p.smallestNormal());
            }
        }
        return new double[] {scale, zp, p.r(1.0 / scale)};
    }

    /** The code of v before the clamp: round(v * (1/scale)) (+ zp), or round((v - (zp - 8 scale)) / scale). */
    double code(double v, double[] qp, Precision p) {
        return switch (this) {
            case INT8_ASYMMETRIC -> p.r(Math.rint(p.r(v * qp[2])) + qp[1]);
            case UINT4_TINYGEMM -> Math.rint(p.r(p.r(v - p.r(qp[1] - p.r(8 * qp[0]))) / qp[0]));
            default -> Math.rint(p.r(v * qp[2]));
        };
    }

    /** The fake-quantized value of the clamped code q. */
    double dequantize(double q, double[] qp, Precision p) {
        return switch (this) {
            case INT8_ASYMMETRIC -> p.r(p.r(q - qp[1]) * qp[0]);
            case UINT4_TINYGEMM -> p.r(p.r(p.r(q - 8) * qp[0]) + qp[1]);
            default -> p.r(q * qp[0]);
        };
    }
}
