// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.util.Optional;

/**
 * Thrown when a loss or the gradient norm stops being finite: names the step (counting from 1), the
 * quantity, and the op that first produced a NaN or Inf when anomaly detection found one. The step's
 * update is not applied, so the last checkpoint and the model hold finite values.
 */
public final class NonFiniteException extends ArithmeticException {
    private final long step;
    private final String quantity;
    private final double value;
    private final String op;

    /** {@code op} is null when no anomaly detector named one. */
    public NonFiniteException(long step, String quantity, double value, String op) {
        super("step " + step + ": " + quantity + " is " + value
            + (op == null ? " (a trainer with AnomalyDetector.tape(), run inside AnomalyMode.enable(), names the op"
                            + " that produced it)"
                          : "; first produced by op '" + op + "'"));
        this.step = step;
        this.quantity = quantity;
        this.value = value;
        this.op = op;
    }

    /** The NaN or infinite value. */
    public double value() {
        return value;
    }

    /** The optimizer step (from 1) that produced the value. */
    public long step() {
        return step;
    }

    /** What was not finite, e.g. "loss (micro-batch 2 of 4)" or "gradient norm". */
    public String quantity() {
        return quantity;
    }

    /** The op named by anomaly detection, if any. */
    public Optional<String> op() {
        return Optional.ofNullable(op);
    }
}
