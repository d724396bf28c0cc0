// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.ops.Elementwise;
import spindle.autograd.ops.Reductions;

/** The tape names the first op whose output or gradient was NaN or Inf, only while the mode is on. */
class AnomalyModeTest {
    @Test
    void namesTheFirstNonFiniteForwardOrBackwardOp() {
        Tensor x = Tensor.of(Nd4j.createFromArray(0.0, 4.0)).requiresGrad(true);
        AnomalyMode.clear();
        Reductions.sum(Elementwise.sqrt(x)).backward();
        assertEquals(Optional.empty(), AnomalyMode.firstNonFinite(), "off by default: nothing is checked");
        try (var on = AnomalyMode.enable()) {
            assertTrue(AnomalyMode.isEnabled());
            Reductions.sum(Elementwise.sqrt(x)).backward();   // d sqrt/dx at 0 is +inf
            assertEquals(Optional.of("sqrt (backward)"), AnomalyMode.firstNonFinite());
            AnomalyMode.clear();
            Tensor y = Elementwise.log(Elementwise.addScalar(x, -1));   // log(-1) = NaN in the forward
            Reductions.sum(y);
            assertEquals(Optional.of("log"), AnomalyMode.firstNonFinite(), "the first op, not the sum after it");
            AnomalyMode.clear();
            Reductions.sum(Elementwise.exp(x));
            assertEquals(Optional.empty(), AnomalyMode.firstNonFinite(), "finite values are not flagged");
        }
        assertFalse(AnomalyMode.isEnabled(), "the scope restores the previous mode");
    }
}
