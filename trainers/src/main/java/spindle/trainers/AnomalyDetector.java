// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.util.Optional;
import spindle.autograd.AnomalyMode;

/**
 * Finds the op that first produced a NaN or Inf, for the message of {@link NonFiniteException} (PyTorch's
 * detect_anomaly). {@link #NONE} is the default; {@link #tape()} reads the autograd tape's own check, which
 * runs inside {@code try (var on = AnomalyMode.enable()) { trainer.fit(...); }}.
 */
public interface AnomalyDetector {
    /** Knows no op: the exception names only the step and the quantity. */
    AnomalyDetector NONE = Optional::empty;

    /** The tape's check ({@link AnomalyMode}): names ops like "log" or "sqrt (backward)" while it is enabled. */
    static AnomalyDetector tape() {
        return new AnomalyDetector() {
            @Override
            public void beginMicroBatch() {
                AnomalyMode.clear();
            }

            @Override
            public Optional<String> culprit() {
                return AnomalyMode.firstNonFinite();
            }
        };
    }

    /** Called before each micro-batch's forward, so a detector can reset what it saw. */
    default void beginMicroBatch() {}

    /** The name of the first op whose output was not finite since {@link #beginMicroBatch}, if known. */
    Optional<String> culprit();
}
