// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

/**
 * e^x computed by a fixed sequence of float64 additions and multiplications, which kernel_exp.h in the native
 * kernels repeats operation for operation, so the Java and native kernels that call it agree bit for bit. Math.exp
 * (an intrinsic) and glibc's exp are both within about half an ulp but round about one input in a thousand
 * differently; this one is within one ulp of e^x.
 *
 * <p>x = k ln2 + r with k an integer and |r| <= ln2/2; e^r by its Taylor polynomial to r^13 (the next term is
 * below 2^-57); then times 2^k, as two powers of two so that each stays a normal double.
 */
public final class KernelExp {
    /** Above this e^x overflows. */
    static final double OVERFLOW = 0x1.62e42fefa39efp+9;
    /** Below this e^x is under half the smallest subnormal. */
    static final double UNDERFLOW = -0x1.74910d52d3052p+9;
    /** Adding and subtracting 1.5 * 2^52 rounds a double below 2^51 to an integer, half to even. */
    private static final double ROUND = 0x1.8p52;
    private static final double INV_LN2 = 0x1.71547652b82fep+0;
    /** ln2 in two parts: the first has 32 significant bits, so k LN2_HI is exact for |k| < 2^21. */
    private static final double LN2_HI = 0x1.62e42ffp-1;
    private static final double LN2_LO = -0x1.718432a1b0e26p-35;

    private KernelExp() {}

    /** e^x; NaN stays NaN, +inf for x above {@link #OVERFLOW}, 0 below {@link #UNDERFLOW}. */
    public static double exp(double x) {
        if (x != x) {
            return x;
        }
        if (x > OVERFLOW) {
            return Double.POSITIVE_INFINITY;
        }
        if (x < UNDERFLOW) {
            return 0.0;
        }
        double k = (x * INV_LN2 + ROUND) - ROUND;
        double r = (x - k * LN2_HI) - k * LN2_LO;
        double q = 0x1.6124613a86d09p-33;   // 1/n! for n = 13 down to 2, by Horner's rule
        q = q * r + 0x1.1eed8eff8d898p-29;
        q = q * r + 0x1.ae64567f544e4p-26;
        q = q * r + 0x1.27e4fb7789f5cp-22;
        q = q * r + 0x1.71de3a556c734p-19;
        q = q * r + 0x1.a01a01a01a01ap-16;
        q = q * r + 0x1.a01a01a01a01ap-13;
        q = q * r + 0x1.6c16c16c16c17p-10;
        q = q * r + 0x1.1111111111111p-7;
        q = q * r + 0x1.5555555555555p-5;
        q = q * r + 0x1.5555555555555p-3;
        q = q * r + 0x1.0p-1;
        double e = 1.0 + (r + r * r * q);
        double k1 = (k * 0.5 + ROUND) - ROUND;
        return e * powerOfTwo(k1) * powerOfTwo(k - k1);
    }

    /** 2^n for an integer n in [-1022, 1023]: n + 1023 sits in the low bits of n + 1023 + 2^52, then moves to the exponent. */
    private static double powerOfTwo(double n) {
        return Double.longBitsToDouble(Double.doubleToRawLongBits(n + 1023.0 + 0x1p52) << 52);
    }

    /** kernel_exp.h's e^x of each value, for the tests that hold it to {@link #exp} bit for bit. */
    static double[] nativeExp(double[] x) {
        if (NativeKernels.whyNot() != null) {
            throw new IllegalStateException("KernelExp.nativeExp: the native kernels are not in use: " + NativeKernels.whyNot());
        }
        double[] out = new double[x.length];
        nativeExp(x, out);
        return out;
    }

    private static native void nativeExp(double[] x, double[] out);
}
