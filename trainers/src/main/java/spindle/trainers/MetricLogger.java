// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.io.IOException;

/**
 * Receives the metrics of each step and evaluation. A trainer calls {@link #start} once per
 * {@code fit}, {@link #logStep} after every optimizer step, {@link #logEval} after each evaluation and
 * {@link #close} at the end, also when the run stops with an exception.
 */
public interface MetricLogger extends AutoCloseable {

    /** The run begins at {@code firstStep} (0, or the step of the checkpoint it resumed) of {@code maxSteps}. */
    default void start(long firstStep, long maxSteps) throws IOException {}

    /** One optimizer step's metrics. */
    void logStep(StepMetrics metrics) throws IOException;

    /** The mean evaluation loss after step {@code step}. */
    default void logEval(long step, double evalLoss) throws IOException {}

    /** Flushes and releases files; called once when the run ends. */
    @Override
    default void close() throws IOException {}
}
