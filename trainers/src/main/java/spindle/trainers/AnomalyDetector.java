// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.util.Optional;

/**
 * Finds the op that first produced a NaN or Inf, for the message of {@link NonFiniteException} (PyTorch's
 * detect_anomaly). The autograd tape has no per-op check yet (issue 4), so {@link #NONE} is the default;
 * a detector plugs in here through {@link Trainer#setAnomalyDetector}.
 */
public interface AnomalyDetector {
    /** Knows no op: the exception names only the step and the quantity. */
    AnomalyDetector NONE = Optional::empty;

    /** Called before each micro-batch's forward, so a detector can reset what it saw. */
    default void beginMicroBatch() {}

    /** The name of the first op whose output was not finite since {@link #beginMicroBatch}, if known. */
    Optional<String> culprit();
}
