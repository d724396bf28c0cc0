// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.ops.IntegerElements;
import spindle.data.Batch;

/** The tokens a step reports: target positions that take part in the loss. */
final class CountedTargets {
    private CountedTargets() {}

    /** All targets but {@link Batch#IGNORE_INDEX}; regression targets count one per example. */
    static long of(INDArray targets) {
        if (!targets.dataType().isIntType()) {
            return targets.size(0);
        }
        return IntegerElements.countNot(targets, Batch.IGNORE_INDEX);   // read in place: no ND4J temporaries
    }
}
