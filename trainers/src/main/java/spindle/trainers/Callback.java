// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

/**
 * User code run by the trainer between steps, e.g. early stopping ({@code trainer.requestStop()}), sample
 * generation or a custom schedule of something outside the optimizer. Every method has an empty default.
 */
public interface Callback {

    /** Before the first step of a {@link Trainer#fit}, once a resume has restored {@code step}. */
    default void onStart(long step, Trainer trainer) {}

    /** After optimizer step {@code metrics.step()}, once the loggers have it. */
    default void onStep(StepMetrics metrics, Trainer trainer) {}

    /** After an evaluation at {@code step}. */
    default void onEval(long step, double evalLoss, Trainer trainer) {}

    /** When the run ends normally, after the final checkpoint. */
    default void onEnd(long step, Trainer trainer) {}
}
