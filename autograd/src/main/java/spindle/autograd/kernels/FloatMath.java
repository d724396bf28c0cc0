// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

/**
 * exp in float32 arithmetic for the float32 kernels that have a native twin (kernel_mathf.h repeats it operation for
 * operation, eight lanes at a time, so both round alike). It costs a fifth of {@link KernelMath#exp} over float64 in
 * the native SwiGLU, and float32 is what the result is rounded to anyway.
 *
 * <p>The method is Cephes' expf: k = round(x / ln2), r = x - k ln2 with ln2 split in two (the high part has 9
 * significant bits, so k times it is exact), e^r = 1 + r + r^2 P(r) with P of degree 5, then times 2^k. Within
 * 1 ulp of e^x (FloatMathTest: at worst 0.95 ulp over a million floats of every exponent).
 */
public final class FloatMath {
    private FloatMath() {}

    private static final float INV_LN2 = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float OVERFLOW = 88.72283935546875f;   // above: e^x > Float.MAX_VALUE
    private static final float UNDERFLOW = -103.972084f;       // below: e^x rounds to 0
    private static final float P0 = 1.9875691500e-4f;
    private static final float P1 = 1.3981999507e-3f;
    private static final float P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f;
    private static final float P4 = 1.6666665459e-1f;
    private static final float P5 = 5.0000001201e-1f;

    /** e^x; NaN for NaN, +inf above about 88.72, 0 below about -103.97. */
    public static float exp(float x) {
        if (x != x) {
            return x;
        }
        if (x > OVERFLOW) {
            return Float.POSITIVE_INFINITY;
        }
        if (x < UNDERFLOW) {
            return 0.0f;
        }
        float k = (float) Math.rint(x * INV_LN2);
        float r = (x - k * LN2_HI) - k * LN2_LO;
        float z = r * r;
        float p = ((((P0 * r + P1) * r + P2) * r + P3) * r + P4) * r + P5;
        float y = (p * z + r) + 1.0f;
        int e = (int) k;
        if (e < -126) {
            return y * powerOfTwo(e + 64) * 0x1p-64f;   // a subnormal result: one rounding, in the last product
        }
        if (e > 127) {
            return y * 2.0f * powerOfTwo(e - 1);
        }
        return y * powerOfTwo(e);
    }

    private static float powerOfTwo(int e) {
        return Float.intBitsToFloat((e + 127) << 23);
    }
}
