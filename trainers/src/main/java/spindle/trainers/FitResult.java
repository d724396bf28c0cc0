// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.util.List;

/**
 * What one {@link Trainer#fit} call did.
 *
 * @param firstStep the step it started from (0, or the step of the checkpoint it resumed)
 * @param lastStep the step it ended at
 * @param losses the training loss of each step it ran, in order (steps firstStep+1 .. lastStep)
 * @param evalLoss the last evaluation loss, NaN when it did not evaluate
 */
public record FitResult(long firstStep, long lastStep, List<Double> losses, double evalLoss) {
    public FitResult {
        losses = List.copyOf(losses);
    }
}
