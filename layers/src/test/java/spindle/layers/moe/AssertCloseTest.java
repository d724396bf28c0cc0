// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;
import org.opentest4j.AssertionFailedError;

/** The MoE parity test's comparison fails on a NaN gradient instead of letting it pass. */
class AssertCloseTest {
    @Test
    void moeTorchParityFailsOnANan() {
        double[] torch = {1.0, -2.0, 0.5};
        MoeTorchParityTest.assertClose("same values", torch, Nd4j.createFromArray(1.0, -2.0, 0.5));
        assertThrows(AssertionFailedError.class,
            () -> MoeTorchParityTest.assertClose("nan", torch, Nd4j.createFromArray(1.0, Double.NaN, 0.5)));
    }
}
