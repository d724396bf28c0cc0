// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.util.Map;

/**
 * What one optimizer step measured, handed to every {@link MetricLogger} and {@link Callback}.
 *
 * @param step the step just taken, counting from 1 (so step == maxSteps at the last one)
 * @param loss mean loss over the step's micro-batches, before the division by the accumulation count
 * @param aux auxiliary values (e.g. {@link StepLoss#BALANCE_LOSS}) averaged over the micro-batches
 * @param lr learning rate of parameter group 0 during the step
 * @param gradNorm global L2 norm of the gradients before clipping
 * @param tokens target positions that counted in the step (targets not equal to Batch.IGNORE_INDEX)
 * @param seconds wall time of the step
 * @param peakRssBytes largest resident set size of the process seen so far in this run
 */
public record StepMetrics(long step, double loss, Map<String, Double> aux, double lr, double gradNorm,
                          long tokens, double seconds, long peakRssBytes) {

    public StepMetrics {
        aux = Map.copyOf(aux);
    }

    /** Tokens per second of wall time in this step. */
    public double tokensPerSecond() {
        return seconds > 0 ? tokens / seconds : 0;
    }

    /** The MoE balance loss of the step, or NaN when the objective reports none. */
    public double balanceLoss() {
        return aux.getOrDefault(StepLoss.BALANCE_LOSS, Double.NaN);
    }
}
