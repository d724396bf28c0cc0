// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A layer whose output is x·Wᵀ (plus its bias) for one weight matrix W it can state: a plain {@link Linear}'s
 * weight, a LoRA layer's W + s·B·A. Attention that folds W into other products (MLA's absorbed cache folds
 * kv_b_proj into the query and the output) reads it here rather than from a parameter.
 */
public interface EffectiveWeight {
    /** W [out, in], outside any graph; read it, do not change it (it may be the live parameter). */
    INDArray effectiveWeight();
}
