// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

/**
 * exp and log for the kernels that have a native twin, written as plain double arithmetic that kernel_math.h
 * repeats operation for operation, so the Java and the C kernels round alike. Java's Math.exp/log (HotSpot's
 * intrinsics) and glibc's exp/log each disagree with the other in the last bit for about 1 input in 400, and
 * StrictMath in about 1 in 10; these agree with each other by construction and are within 1 ulp of exact.
 *
 * <p>The method is the classic one: exp reduces x to r = x - k ln2 with |r| <= ln2/2 and evaluates a rational
 * approximation of e^r, then scales by 2^k; log splits x into 2^e m with m in [sqrt(2)/2, sqrt(2)) and sums the
 * odd series of log((1 + s) / (1 - s)) with s = (m - 1) / (m + 1).
 */
public final class KernelMath {
    private KernelMath() {}

    private static final double LN2_HI = 6.93147180369123816490e-01;   // its low 32 bits are 0: k * LN2_HI is exact
    private static final double LN2_LO = 1.90821492927058770002e-10;
    private static final double INV_LN2 = 1.44269504088896338700e+00;
    private static final double EXP_OVERFLOW = 7.09782712893383973096e+02;
    private static final double EXP_UNDERFLOW = -7.45133219101941108420e+02;
    private static final double P1 = 1.66666666666666019037e-01;
    private static final double P2 = -2.77777777770155933842e-03;
    private static final double P3 = 6.61375632143793436117e-05;
    private static final double P4 = -1.65339022054652515390e-06;
    private static final double P5 = 4.13813679705723846039e-08;
    private static final double LG1 = 6.666666666666735130e-01;
    private static final double LG2 = 3.999999999940941908e-01;
    private static final double LG3 = 2.857142874366239149e-01;
    private static final double LG4 = 2.222219843214978396e-01;
    private static final double LG5 = 1.818357216161805012e-01;
    private static final double LG6 = 1.531383769920937332e-01;
    private static final double LG7 = 1.479819860511658591e-01;
    private static final double SQRT2 = 1.41421356237309504880;

    /** e^x, within 1 ulp; NaN for NaN, +inf above about 709.78, 0 below about -745.13. */
    public static double exp(double x) {
        if (x != x) {
            return x;
        }
        if (x > EXP_OVERFLOW) {
            return Double.POSITIVE_INFINITY;
        }
        if (x < EXP_UNDERFLOW) {
            return 0.0;
        }
        double k = Math.rint(x * INV_LN2);
        double hi = x - k * LN2_HI;
        double lo = k * LN2_LO;
        double r = hi - lo;
        double rr = r * r;
        double c = r - rr * (P1 + rr * (P2 + rr * (P3 + rr * (P4 + rr * P5))));
        double y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
        int e = (int) k;
        if (e < -1021) {
            return y * powerOfTwo(e + 1000) * 0x1p-1000;   // a subnormal result: one rounding, in the last product
        }
        if (e > 1023) {
            return y * 2.0 * powerOfTwo(e - 1);
        }
        return y * powerOfTwo(e);
    }

    /** log x, within 1 ulp; NaN below 0 and for NaN, -inf at 0, +inf at +inf. */
    public static double log(double x) {
        if (!(x > 0)) {
            return x == 0 ? Double.NEGATIVE_INFINITY : Double.NaN;
        }
        if (x == Double.POSITIVE_INFINITY) {
            return x;
        }
        int e = 0;
        if (x < 0x1p-1022) {
            x *= 0x1p54;   // a subnormal: scaled exactly into the normal range
            e = -54;
        }
        long bits = Double.doubleToRawLongBits(x);
        e += (int) (bits >>> 52) - 1023;
        double m = Double.longBitsToDouble(bits & 0x000f_ffff_ffff_ffffL | 0x3ff0_0000_0000_0000L);
        if (m > SQRT2) {
            m *= 0.5;
            e += 1;
        }
        double f = m - 1.0;
        double s = f / (2.0 + f);
        double z = s * s;
        double w = z * z;
        double t1 = w * (LG2 + w * (LG4 + w * LG6));
        double t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
        double hfsq = 0.5 * f * f;
        return e * LN2_HI - ((hfsq - (s * (hfsq + (t2 + t1)) + e * LN2_LO)) - f);
    }

    private static double powerOfTwo(int e) {
        return Double.longBitsToDouble((long) (e + 1023) << 52);
    }
}
