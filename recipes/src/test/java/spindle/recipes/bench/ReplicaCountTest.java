// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ReplicaCountTest {
    @Test
    void smallStepsRunOnOneReplica() {
        assertEquals(1, ReplicaCount.automatic(2, 4, 32));    // small-mha: 128 tokens
        assertEquals(1, ReplicaCount.automatic(2, 4, 48));    // small-mla-moe: 192 tokens
        assertEquals(1, ReplicaCount.automatic(2, 2, 511));
    }

    @Test
    void largeStepsGetOneReplicaPerThread() {
        assertEquals(2, ReplicaCount.automatic(2, 8, 256));   // the shared configs: 2,048 tokens
        assertEquals(2, ReplicaCount.automatic(2, 2, 512));
        assertEquals(4, ReplicaCount.automatic(4, 8, 256));
    }

    @Test
    void neverMoreReplicasThanRows() {
        assertEquals(1, ReplicaCount.automatic(4, 1, 4096));
    }

    @Test
    void badSizesAreNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> ReplicaCount.automatic(2, 0, 32));
        assertTrue(e.getMessage().contains("batch"), e.getMessage());
    }
}
