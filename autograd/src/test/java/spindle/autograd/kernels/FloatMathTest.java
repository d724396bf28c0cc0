// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static spindle.autograd.kernels.NativeAttentionTest.requireNative;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * FloatMath's exp against Math.exp over float64, and the native SwiGLU (swiglu.c, its exp in kernel_mathf.h) against
 * its float32 Java twin bit for bit over the whole range of exp: the scalar lanes outside [-87, 88], subnormal and
 * overflowing results, NaN and infinities.
 */
class FloatMathTest {
    @Test
    void expIsWithinOneUlpOfTheExactValue() {
        double worst = 0;
        float worstAt = 0;
        int checked = 0;
        for (long bits = 0; bits <= 0xFFFF_FFFFL; bits += 4099) {   // about a million floats of every exponent
            float x = Float.intBitsToFloat((int) bits);
            if (!(x >= -103.9f && x <= 88.7f)) {
                continue;
            }
            double exact = Math.exp(x);
            double ulps = Math.abs(FloatMath.exp(x) - exact) / Math.ulp((float) exact);
            checked++;
            if (!(ulps <= worst)) {
                worst = ulps;
                worstAt = x;
            }
        }
        assertTrue(checked > 500_000, checked + " values checked");
        assertTrue(worst < 1, "exp(" + worstAt + ") is " + worst + " ulp from exact");
    }

    @Test
    void expAtTheEdges() {
        assertTrue(Float.isNaN(FloatMath.exp(Float.NaN)));
        assertEquals(Float.POSITIVE_INFINITY, FloatMath.exp(Float.POSITIVE_INFINITY));
        assertEquals(Float.POSITIVE_INFINITY, FloatMath.exp(88.73f));
        assertEquals((float) Math.exp(88.72283f), FloatMath.exp(88.72283f), Math.ulp(Float.MAX_VALUE));   // finite
        assertEquals(0f, FloatMath.exp(Float.NEGATIVE_INFINITY));
        assertEquals(0f, FloatMath.exp(-104f));
        assertEquals(Float.MIN_VALUE, FloatMath.exp(-103.5f));   // e^-103.5 is 1.3 times the smallest subnormal
        assertEquals(1f, FloatMath.exp(0f));
        assertEquals(1f, FloatMath.exp(-0f));
    }

    @Test
    void nativeSwigluEqualsItsFloat32TwinOverExpsWholeRange() {
        requireNative();
        SplittableRandom rng = new SplittableRandom(5);
        int n = 20_003;   // not a multiple of 8: the scalar tail runs too
        float[] gate = new float[n];
        float[] up = new float[n];
        float[] g = new float[n];
        float[] edges = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, Float.MIN_VALUE,
            87f, -87f, 88f, -88f, 88.72f, -88.72f, 103.97f, -103.97f, 150f, -150f, Float.MAX_VALUE};
        for (int i = 0; i < n; i++) {
            gate[i] = i < edges.length ? edges[i] : (float) (rng.nextDouble() * 240 - 120);
            up[i] = (float) rng.nextDouble(-2, 2);
            g[i] = (float) rng.nextDouble(-2, 2);
        }
        INDArray y = Nd4j.createUninitialized(org.nd4j.linalg.api.buffer.DataType.FLOAT, n);
        INDArray dgate = y.ulike();
        INDArray dup = y.ulike();
        INDArray gateArray = Nd4j.createFromArray(gate);
        INDArray upArray = Nd4j.createFromArray(up);
        NativeGating.forward(gateArray, upArray, y);
        NativeGating.backward(gateArray, upArray, Nd4j.createFromArray(g), dgate, dup);
        double[] s = new double[n];
        double[] yJava = new double[n];
        double[] dgateJava = new double[n];
        double[] dupJava = new double[n];
        GatingKernels.swigluForwardFloat32(widen(gate), widen(up), n, yJava, s);
        GatingKernels.swigluBackwardFloat32(widen(gate), widen(up), s, widen(g), n, dgateJava, dupJava);
        for (int i = 0; i < n; i++) {
            String at = " at gate " + gate[i];
            assertEquals(Float.floatToIntBits((float) yJava[i]), Float.floatToIntBits(y.getFloat(i)), "y" + at);
            assertEquals(Float.floatToIntBits((float) dgateJava[i]), Float.floatToIntBits(dgate.getFloat(i)), "dgate" + at);
            assertEquals(Float.floatToIntBits((float) dupJava[i]), Float.floatToIntBits(dup.getFloat(i)), "dup" + at);
        }
    }

    private static double[] widen(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }
}
