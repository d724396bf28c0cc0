// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import spindle.testing.NativeRequirement;

/**
 * KernelExp.exp: within one ulp of Math.exp, equal to it for most inputs (the Java SwiGLU kernel's results stay where they were),
 * its edges exact, and kernel_exp.h (the native kernels' exp) equal to it bit for bit on four million inputs: every
 * float32 in [-2, 2] spaced 64 apart plus random floats, doubles in exp's range and any doubles.
 */
class KernelExpTest {
    @Test
    void staysWithinOneUlpOfMathExp() {
        double[] x = inputs(1_000_000);
        long[] byUlps = new long[2];
        for (double v : x) {
            double want = Math.exp(v);
            double got = KernelExp.exp(v);
            if (Double.isNaN(want) || Double.isInfinite(want) || want == 0) {
                assertEquals(Double.doubleToLongBits(want), Double.doubleToLongBits(got), "exp(" + v + ")");
                continue;
            }
            double ulps = Math.abs(got - want) / Math.ulp(want);
            assertTrue(ulps <= 1, "exp(" + v + "): Math.exp " + want + ", KernelExp " + got + ": " + ulps + " ulps");
            byUlps[(int) ulps]++;
        }
        assertTrue(byUlps[0] > 9 * byUlps[1], "most results equal Math.exp's: " + java.util.Arrays.toString(byUlps));
        assertEquals(1.0, KernelExp.exp(0.0));
        assertEquals(1.0, KernelExp.exp(-0.0));
        assertEquals(Double.POSITIVE_INFINITY, KernelExp.exp(Math.nextUp(KernelExp.OVERFLOW)));
        assertTrue(KernelExp.exp(KernelExp.OVERFLOW) <= Double.MAX_VALUE, "the largest x short of overflow");
        assertEquals(0.0, KernelExp.exp(Math.nextDown(KernelExp.UNDERFLOW)));
        assertEquals(Double.MIN_VALUE, KernelExp.exp(KernelExp.UNDERFLOW + 0.5), "the least subnormal");
    }

    @Test
    void nativeExpEqualsItBitForBit() {
        Optional<String> skip = NativeRequirement.unavailable(NativeKernels.whyNot());
        assumeTrue(skip.isEmpty(), skip.orElse(""));
        double[] x = inputs(4_000_000);
        double[] got = KernelExp.nativeExp(x);
        for (int i = 0; i < x.length; i++) {
            double want = KernelExp.exp(x[i]);
            if (Double.doubleToLongBits(want) != Double.doubleToLongBits(got[i])) {
                throw new AssertionError("exp(" + x[i] + " = " + Double.toHexString(x[i]) + "): Java "
                    + Double.toHexString(want) + ", native " + Double.toHexString(got[i]));
            }
        }
    }

    /** n inputs: the edges, every 64th float32 of [-2, 2], then random floats, doubles in exp's range, any doubles. */
    private static double[] inputs(int n) {
        double[] edges = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 0.0, -0.0, Double.MIN_VALUE,
            KernelExp.OVERFLOW, Math.nextUp(KernelExp.OVERFLOW), KernelExp.UNDERFLOW, Math.nextDown(KernelExp.UNDERFLOW),
            -708.4, -708.3, -745.0, 709.0, 88.72283935546875, -87.33654022216797, -103.97208, 1e-300, -1e-300, 0.5, -0.5};
        double[] x = new double[n];
        System.arraycopy(edges, 0, x, 0, edges.length);
        int i = edges.length;
        for (int bits = Float.floatToIntBits(2f); bits >= 0 && i < n / 4; bits -= 64) {   // [0, 2] and [-2, 0]
            x[i++] = Float.intBitsToFloat(bits);
            x[i++] = -Float.intBitsToFloat(bits);
        }
        SplittableRandom rng = new SplittableRandom(7);
        while (i < n) {
            x[i] = switch (i % 3) {
                case 0 -> Float.intBitsToFloat(rng.nextInt());
                case 1 -> rng.nextDouble(KernelExp.UNDERFLOW - 1, KernelExp.OVERFLOW + 1);
                default -> Double.longBitsToDouble(rng.nextLong());
            };
            i++;
        }
        return x;
    }
}
