// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import spindle.autograd.Tensor;

/**
 * The result of an {@link Objective} on one batch: {@code loss}, the scalar the trainer back-propagates
 * (for an MoE model it already includes alpha * balance loss), and named auxiliary values that are only
 * logged, such as {@link #BALANCE_LOSS}. The trainer averages auxiliary values over the micro-batches of a step.
 */
public record StepLoss(Tensor loss, Map<String, Double> aux) {
    /** The key under which an MoE balance loss is logged (column and TensorBoard tag "balance_loss"). */
    public static final String BALANCE_LOSS = "balance_loss";

    public StepLoss {
        Objects.requireNonNull(loss, "loss");
        if (loss.value().length() != 1) {
            throw new IllegalArgumentException("StepLoss: loss must be a scalar but has shape "
                + java.util.Arrays.toString(loss.shape()));
        }
        aux = Collections.unmodifiableMap(new LinkedHashMap<>(aux));
    }

    /** A loss with no auxiliary values. */
    public static StepLoss of(Tensor loss) {
        return new StepLoss(loss, Map.of());
    }

    /** A copy that also logs {@code value} under {@code name}. */
    public StepLoss withAux(String name, double value) {
        Map<String, Double> a = new LinkedHashMap<>(aux);
        a.put(Objects.requireNonNull(name, "name"), value);
        return new StepLoss(loss, a);
    }

    /** A copy that logs the MoE balance loss (the unscaled value, before alpha). */
    public StepLoss withBalanceLoss(double value) {
        return withAux(BALANCE_LOSS, value);
    }
}
