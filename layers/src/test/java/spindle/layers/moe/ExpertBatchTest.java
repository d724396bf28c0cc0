// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.layers.Init;
import spindle.layers.Linear;
import spindle.layers.SwiGlu;

/**
 * Which experts run batched (MoeTorchParityTest and MoeGradTest check both paths' values and gradients): plain
 * bias-free experts whose padding stays within budget; never experts with other layers or parameters.
 */
class ExpertBatchTest {
    static final ExpertDims DIMS = new ExpertDims(3, 4, 0, 1, 2);

    @Test
    void plainExpertsWithFewPaddedRowsRunBatched() {
        Dispatch balanced = Dispatch.of(new long[] {0, 1, 2, 3, 0, 1, 2}, 1, 4, 0);
        assertTrue(ExpertBatch.applies(experts(false), balanced, DIMS, DataType.DOUBLE));
        List<SwiGlu> built = MoeFixtures.layer(MoeFixtures.config(3, 4, 0, 1, 2), 1).experts().items();
        assertTrue(ExpertBatch.applies(built, balanced, DIMS, DataType.DOUBLE),
            "a MoE layer with plain linears builds plain experts");
    }

    @Test
    void expertsWithBiasesOrTooMuchPaddingRunOneByOne() {
        Dispatch balanced = Dispatch.of(new long[] {0, 1, 2, 3}, 1, 4, 0);
        assertFalse(ExpertBatch.applies(experts(true), balanced, DIMS, DataType.DOUBLE),
            "more parameters than the three weights");
        assertFalse(ExpertBatch.applies(experts(false), balanced, DIMS, DataType.FLOAT), "float64 weights, float32 x");
        long[] allToOne = new long[1_000_000];   // 3 idle experts padded to 1e6 rows of 3 x 2: 1.8e7 > 3 x 1.7e6
        Arrays.fill(allToOne, 2);
        assertFalse(ExpertBatch.applies(experts(false), Dispatch.of(allToOne, 1, 4, 0), DIMS, DataType.DOUBLE));
        ExpertBatch.forced = false;
        try {
            assertFalse(ExpertBatch.applies(experts(false), balanced, DIMS, DataType.DOUBLE));
        } finally {
            ExpertBatch.forced = null;
        }
    }

    private static List<SwiGlu> experts(boolean bias) {
        SplittableRandom rng = new SplittableRandom(3);
        List<SwiGlu> out = new ArrayList<>();
        for (int e = 0; e < 4; e++) {
            out.add(new SwiGlu(3, 2, (name, in, o, b) -> new Linear(in, o, bias, DataType.DOUBLE,
                Init.normal(0, 1, rng.split()))));
        }
        return out;
    }
}
