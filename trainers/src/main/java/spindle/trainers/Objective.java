// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import spindle.data.Batch;

/**
 * What the model is trained to minimise, supplied by the user: runs the model's forward on one batch and
 * returns the loss to back-propagate (with any auxiliary losses already added in) and the values to log.
 *
 * <pre>{@code
 * Objective lm = batch -> StepLoss.of(Losses.crossEntropy(model.forward(Tensor.of(batch.inputs())),
 *                                                       Tensor.of(batch.targets())));
 * }</pre>
 */
@FunctionalInterface
public interface Objective {

    /** The loss of {@code batch}: a scalar tensor on the tape, plus logged auxiliary values. */
    StepLoss loss(Batch batch);
}
