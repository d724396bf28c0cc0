// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Elementwise;
import spindle.autograd.ops.Reductions;

/**
 * Each fake quantizer on inputs whose scales are powers of two, so the expected codes are exact by hand:
 * ties at .5 round half to even (2.5 -> 2, 1.5 -> 2, -0.5 -> 0), codes past qmax are clamped, codes exactly
 * on qmin pass. With a power-of-two scale, g * scale * (1/scale) = g, so the gradient of sum(y * seed) is
 * exactly seed where the code was not clamped and 0 where it was.
 */
class FakeQuantTest {
    /** Values in units of 1/16: the activation row with scale 1/16 and zero point -126. */
    static final double[] ACT = sixteenths(-1.5, 253.5, 0.5, 1.5, 2.5, -0.5, 100.5, 0);

    @Test
    void activationsRoundHalfToEvenAndClampPerToken() {
        check(FakeQuant::int8PerToken, ACT, new long[] {1, 1, 8},
            sixteenths(-2, 253, 0, 2, 2, 0, 100, 0), new boolean[] {true, false, true, true, true, true, true, true});
    }

    @Test
    void int4SymmetricWeightsUseOneScalePerGroup() {
        double[] w = concat(eighths(7.5, 0.5, 1.5, 2.5, -7.5, -2.5, 3.5, 0), sixteenths(7.5, -7.5, 0.5, -2.5), zeros(4));
        double[] want = concat(eighths(7, 0, 2, 2, -8, -2, 4, 0), sixteenths(7, -8, 0, -2), zeros(4));
        boolean[] pass = {false, true, true, true, true, true, true, true, false, true, true, true, true, true, true, true};
        check(t -> FakeQuant.int4Symmetric(t, 4), w, new long[] {2, 8}, want, pass);
    }

    @Test
    void int4WeightOnlyShiftsByTheZeroPoint() {
        double[] w = sixteenths(0, 15, 2.5, 7.5, -1, 1.5, 3.5, 14, -8, -4, 3.5, 7, 1, 2, 3, 16);
        double[] want = sixteenths(0, 15, 2, 8, -1, 1, 3, 14, -8, -4, 4, 7, 1, 2, 3, 16);
        boolean[] pass = new boolean[16];
        java.util.Arrays.fill(pass, true);
        check(t -> FakeQuant.int4WeightOnly(t, 4), w, new long[] {2, 8}, want, pass);
    }

    @Test
    void int8PerChannelUsesOneScalePerRow() {
        double[] w = scaled(1.0 / 128, 127.5, 0.5, -1.5, 2.5, -127.5, 126.5, -0.5, 3.5);
        double[] want = scaled(1.0 / 128, 127, 0, -2, 2, -128, 126, 0, 4);
        check(FakeQuant::int8PerChannel, w, new long[] {2, 4}, want,
            new boolean[] {false, true, true, true, true, true, true, true});
    }

    @Test
    void badShapesAndGroupSizesAreNamed() {
        Tensor w = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 3, 10));
        String msg = assertThrows(IllegalArgumentException.class, () -> FakeQuant.int4Symmetric(w, 4)).getMessage();
        assertTrue(msg.contains("group_size 4") && msg.contains("[3, 10]"), msg);
        Tensor v = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 10));
        msg = assertThrows(IllegalArgumentException.class, () -> FakeQuant.int8PerChannel(v)).getMessage();
        assertTrue(msg.contains("[out, in]") && msg.contains("[10]"), msg);
        Tensor i = Tensor.of(Nd4j.zeros(DataType.INT, 2, 4));
        msg = assertThrows(IllegalArgumentException.class, () -> FakeQuant.int8PerToken(i)).getMessage();
        assertTrue(msg.contains("float32 or float64"), msg);
    }

    /** y = fq(x) must equal want; d sum(y * seed) / dx must be seed where pass, 0 elsewhere. */
    static void check(UnaryOperator<Tensor> fq, double[] x, long[] shape, double[] want, boolean[] pass) {
        Tensor xt = Tensor.of(Nd4j.create(x, shape, 'c')).requiresGrad(true);
        double[] seed = new double[x.length];
        for (int i = 0; i < seed.length; i++) {
            seed[i] = 1 + i * 0.25;
        }
        Tensor y = fq.apply(xt).keep();
        Reductions.sum(Elementwise.mul(y, Tensor.of(Nd4j.create(seed, shape, 'c')))).backward();
        assertArrayEquals(want, y.value().dup('c').data().asDouble(), 0.0, "fake-quantized values");
        double[] grad = xt.grad().dup('c').data().asDouble();
        for (int i = 0; i < x.length; i++) {
            assertEquals(pass[i] ? seed[i] : 0.0, grad[i], 0.0, "gradient at flat index " + i
                + (pass[i] ? " (straight through)" : " (clamped)"));
        }
    }

    static double[] sixteenths(double... v) {
        return scaled(1.0 / 16, v);
    }

    static double[] eighths(double... v) {
        return scaled(1.0 / 8, v);
    }

    static double[] scaled(double unit, double... v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i] * unit;
        }
        return out;
    }

    static double[] zeros(int n) {
        return new double[n];
    }

    static double[] concat(double[]... parts) {
        return java.util.Arrays.stream(parts).flatMapToDouble(java.util.Arrays::stream).toArray();
    }
}
