// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static spindle.layers.qat.FakeQuantTest.concat;
import static spindle.layers.qat.FakeQuantTest.eighths;
import static spindle.layers.qat.FakeQuantTest.scaled;
import static spindle.layers.qat.FakeQuantTest.sixteenths;
import static spindle.layers.qat.FakeQuantTest.zeros;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;

/**
 * The convert step's codes, scales and zeros by hand, on the inputs of {@link FakeQuantTest} (power-of-two
 * scales, so every value is exact): ties round half to even, codes past the grid are clamped (7.5 -> 7 in int4,
 * 127.5 -> 127 in int8), codes exactly on qmin stay. Dequantizing gives back the fake-quantized weight bit for bit.
 */
class QuantizedWeightTest {
    @Test
    void int4SymmetricCodesAndOneScalePerGroup() {
        double[] w = concat(eighths(7.5, 0.5, 1.5, 2.5, -7.5, -2.5, 3.5, 0), sixteenths(7.5, -7.5, 0.5, -2.5), zeros(4));
        QuantizedWeight q = QuantizedWeight.quantize(Nd4j.create(w, new long[] {2, 8}, 'c'), QatScheme.INT8_DYN_ACT_INT4_WEIGHT, 4);
        assertCodes(new int[] {7, 0, 2, 2, -8, -2, 4, 0, 7, -8, 0, -2, 0, 0, 0, 0}, q);
        // an all-zero group gets the smallest normal float64 as its scale, as torch's clamp(min=smallest_normal)
        assertArrayEquals(new double[] {1.0 / 8, 1.0 / 8, 1.0 / 16, Double.MIN_NORMAL}, values(q.scales()), 0.0);
        assertArrayEquals(new long[] {2, 2}, q.scales().shape());
        assertNull(q.zeros());
        assertEquals(4, q.groupSize());
    }

    @Test
    void int4WeightOnlyCodesAreUnsignedWithAFloatZeroPerGroup() {
        double[] w = sixteenths(0, 15, 2.5, 7.5, -1, 1.5, 3.5, 14, -8, -4, 3.5, 7, 1, 2, 3, 16);
        QuantizedWeight q = QuantizedWeight.quantize(Nd4j.create(w, new long[] {2, 8}, 'c'), QatScheme.INT4_WEIGHT_ONLY, 4);
        // q = round((w - (zero - 8 scale)) / scale): 2.5 -> 2, 7.5 -> 8, 2.5 (1.5 + 1) -> 2, 4.5 -> 4, 11.5 -> 12
        assertCodes(new int[] {0, 15, 2, 8, 0, 2, 4, 15, 0, 4, 12, 15, 0, 1, 2, 15}, q);
        assertArrayEquals(sixteenths(1, 1, 1, 1), values(q.scales()), 0.0);
        // zero = min + 8 scale
        assertArrayEquals(sixteenths(8, 7, 0, 9), values(q.zeros()), 0.0);
        assertArrayEquals(new long[] {2, 2}, q.zeros().shape());
    }

    @Test
    void int8PerChannelCodesAndOneScalePerRow() {
        double[] w = scaled(1.0 / 128, 127.5, 0.5, -1.5, 2.5, -127.5, 126.5, -0.5, 3.5);
        QuantizedWeight q = QuantizedWeight.quantize(Nd4j.create(w, new long[] {2, 4}, 'c'), QatScheme.INT8_WEIGHT_ONLY, 32);
        assertCodes(new int[] {127, 0, -2, 2, -128, 126, 0, 4}, q);
        assertArrayEquals(new long[] {2, 1}, q.scales().shape(), "one scale per output channel whatever group_size says");
        assertArrayEquals(new double[] {1.0 / 128, 1.0 / 128}, values(q.scales()), 0.0);
    }

    @Test
    void dequantizingGivesTheFakeQuantizedWeightExactlyInBothDtypes() {
        Random rng = new Random(3);
        for (DataType dtype : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            for (QatScheme scheme : QatScheme.values()) {
                double[] v = new double[6 * 32];
                for (int i = 0; i < v.length; i++) {
                    v[i] = rng.nextGaussian() * 0.02 + (i % 7 == 0 ? 0.05 : 0);
                }
                INDArray w = Nd4j.create(v, new long[] {6, 32}, 'c').castTo(dtype);
                QuantizedWeight q = QuantizedWeight.quantize(w, scheme, 8);
                INDArray fq = scheme.fakeQuantizeWeight(Tensor.of(w), 8).value();
                assertEquals(dtype, q.scales().dataType(), scheme.id());
                assertEquals(DataType.BYTE, q.codes().dataType(), scheme.id());
                assertArrayEquals(values(fq), values(q.dequantize()), 0.0, scheme.id() + " " + dtype);
            }
        }
    }

    @Test
    void badWeightsAreNamed() {
        INDArray w = Nd4j.zeros(DataType.DOUBLE, 3, 10);
        String msg = assertThrows(IllegalArgumentException.class,
            () -> QuantizedWeight.quantize(w, QatScheme.INT4_WEIGHT_ONLY, 4)).getMessage();
        assertTrue(msg.contains("group_size 4") && msg.contains("[3, 10]"), msg);
        msg = assertThrows(IllegalArgumentException.class,
            () -> QuantizedWeight.quantize(Nd4j.zeros(DataType.DOUBLE, 10), QatScheme.INT8_WEIGHT_ONLY, 4)).getMessage();
        assertTrue(msg.contains("[out, in]") && msg.contains("[10]"), msg);
    }

    private static void assertCodes(int[] want, QuantizedWeight q) {
        assertEquals(DataType.BYTE, q.codes().dataType());
        assertArrayEquals(want, q.codes().castTo(DataType.INT).dup('c').data().asInt());
    }

    private static double[] values(INDArray a) {
        return a.castTo(DataType.DOUBLE).dup('c').data().asDouble();
    }
}
