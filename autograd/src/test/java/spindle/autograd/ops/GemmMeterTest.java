// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;

/** The meter records every product of the GEMM paths with its shape, and nothing while it is off. */
class GemmMeterTest {
    private static Tensor rand(long... shape) {
        return Tensor.of(Nd4j.rand(DataType.DOUBLE, shape)).requiresGrad(true);
    }

    @Test
    void aLinearForwardAndBackwardRecordsItsThreeProducts() {
        Tensor x = rand(2, 3, 4);
        Tensor w = rand(5, 4);
        Linalg.linear(x, w, null);   // off: not recorded
        GemmMeter.start();
        Tensor y = Linalg.linear(x, w, null);
        y.backward(Nd4j.ones(DataType.DOUBLE, 2, 3, 5));
        GemmMeter.Reading r = GemmMeter.stop();
        assertEquals(List.of(new GemmMeter.Product(DataType.DOUBLE, 1, 6, 5, 4, false, true),
            new GemmMeter.Product(DataType.DOUBLE, 1, 6, 4, 5, false, false),
            new GemmMeter.Product(DataType.DOUBLE, 1, 5, 4, 6, true, false)), r.products());
        assertEquals(3 * 2.0 * 6 * 5 * 4, r.flops(), 0);
        assertTrue(r.nanos() > 0);
    }

    @Test
    void batchedProductsOfMatmulAndAttentionCountTheirBatch() {
        GemmMeter.start();
        Linalg.matmul(rand(3, 2, 4), rand(3, 4, 5));
        Attention.causal(rand(1, 2, 3, 4), rand(1, 1, 3, 4), rand(1, 1, 3, 4), 0.5, null, 1);
        GemmMeter.Reading r = GemmMeter.stop();
        assertEquals(List.of(new GemmMeter.Product(DataType.DOUBLE, 3, 2, 5, 4, false, false),
            new GemmMeter.Product(DataType.DOUBLE, 1, 6, 3, 4, false, true),
            new GemmMeter.Product(DataType.DOUBLE, 1, 6, 4, 3, false, false)), r.products());
    }
}
