// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.conditions.Conditions;

/** Small array helpers for adapters, outside any graph. */
final class LoraMath {
    private LoraMath() {}

    /** ||w_i|| for each row i of a matrix [out, in]: a vector [out] in w's dtype. */
    static INDArray rowNorms(INDArray w) {
        return w.norm2(1);
    }

    /** True when no element is NaN or infinite. */
    static boolean allFinite(INDArray a) {
        return !BooleanIndexing.or(a, Conditions.isNan()) && !BooleanIndexing.or(a, Conditions.isInfinite());
    }
}
