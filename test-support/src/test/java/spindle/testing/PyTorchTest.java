// SPDX-License-Identifier: Apache-2.0
package spindle.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The skip-or-fail rule: without PyTorch a parity test skips, naming why, but fails where CI requires PyTorch. */
class PyTorchTest {

    @Test
    void aMissingReferenceSkipsUnlessRequired() {
        assertEquals(Optional.of("no torch here"), PyTorch.skipOrFail(Optional.of("no torch here"), false));
    }

    @Test
    void aMissingReferenceFailsWhenRequiredNamingWhatIsMissing() {
        var e = assertThrows(IllegalStateException.class, () -> PyTorch.skipOrFail(Optional.of("no torch here"), true));
        assertEquals("SPINDLE_REQUIRE_TORCH=1 but no torch here", e.getMessage());
    }

    @Test
    void anAvailableReferenceRunsEitherWay() {
        assertEquals(Optional.empty(), PyTorch.skipOrFail(Optional.empty(), true));
        assertEquals(Optional.empty(), PyTorch.skipOrFail(Optional.empty(), false));
    }
}
