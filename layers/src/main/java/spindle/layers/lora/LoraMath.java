// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.conditions.Conditions;
import spindle.autograd.ops.Widening;

/** Small array helpers for adapters, outside any graph. */
final class LoraMath {
    private LoraMath() {}

    /** ||w_i|| for each row i of a matrix [out, in]: a vector [out] in w's compute dtype (float32 for a bf16 w). */
    static INDArray rowNorms(INDArray w) {
        if (!Widening.isNarrow(w.dataType())) {
            return w.norm2(1);
        }
        INDArray wide = w.castTo(Widening.computeDtype(w.dataType()));
        INDArray n = wide.norm2(1);
        wide.close();
        return n;
    }

    /** True when no element is NaN or infinite. */
    static boolean allFinite(INDArray a) {
        return !BooleanIndexing.or(a, Conditions.isNan()) && !BooleanIndexing.or(a, Conditions.isInfinite());
    }
}
