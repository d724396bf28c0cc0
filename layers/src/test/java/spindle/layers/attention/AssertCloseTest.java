// SPDX-License-Identifier: Apache-2.0
package spindle.layers.attention;

import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.opentest4j.AssertionFailedError;

/** The attention tests' comparison helpers fail on a NaN, on either side, instead of letting it pass. */
class AssertCloseTest {
    private static final INDArray VALUES = Nd4j.createFromArray(1.0, -2.0, 0.5);
    private static final INDArray WITH_NAN = Nd4j.createFromArray(1.0, Double.NaN, 0.5);

    @Test
    void mlaTorchParityFailsOnANan() {
        JsonNode torch = MlaTorchParityTest.JSON.valueToTree(new double[] {1.0, -2.0, 0.5});
        MlaTorchParityTest.assertClose("same values", torch, VALUES.dup());
        assertThrows(AssertionFailedError.class, () -> MlaTorchParityTest.assertClose("nan", torch, WITH_NAN.dup()));
    }

    @Test
    void multiHeadLatentAttentionFailsOnANan() {
        MultiHeadLatentAttentionTest.assertClose("same values", VALUES, VALUES.dup(), 1e-12);
        assertThrows(AssertionFailedError.class,
            () -> MultiHeadLatentAttentionTest.assertClose("nan actual", VALUES, WITH_NAN, 1e-12));
        assertThrows(AssertionFailedError.class,
            () -> MultiHeadLatentAttentionTest.assertClose("nan expected", WITH_NAN, VALUES, 1e-12));
    }
}
