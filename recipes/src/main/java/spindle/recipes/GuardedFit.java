// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.io.IOException;
import java.util.Optional;
import spindle.autograd.AnomalyMode;
import spindle.data.DataLoader;
import spindle.recipes.config.RecipeConfig;
import spindle.trainers.AnomalyDetector;
import spindle.trainers.Checkpoint;
import spindle.trainers.Checkpointer;
import spindle.trainers.FitResult;
import spindle.trainers.NonFiniteException;
import spindle.trainers.Trainer;

/**
 * {@link Trainer#fit} for a recipe: with {@code train.detect_anomaly} the autograd tape checks every op's output
 * so that a NaN or Inf stop names the op; the stop itself becomes a {@link TrainingStopped} whose one line says
 * the step, the value, the last good checkpoint and how to go on.
 */
final class GuardedFit {
    private GuardedFit() {}

    static FitResult fit(Trainer trainer, Checkpointer checkpoints, TextLoaders data, RecipeConfig c) throws IOException {
        return fit(trainer, checkpoints, data.train(), data.val(), c);
    }

    /** As above with the training and (possibly null) evaluation loaders given apart. */
    static FitResult fit(Trainer trainer, Checkpointer checkpoints, DataLoader train, DataLoader val, RecipeConfig c)
        throws IOException {
        boolean detect = c.bool("train.detect_anomaly");
        if (detect) {
            trainer.setAnomalyDetector(AnomalyDetector.tape());
        }
        try (AnomalyMode.Scope on = detect ? AnomalyMode.enable() : null) {   // replica threads inherit it
            return trainer.fit(train, val);
        } catch (NonFiniteException e) {
            throw new TrainingStopped(message(e, checkpoints.latest(), c), e);
        }
    }

    static String message(NonFiniteException e, Optional<Checkpoint> last, RecipeConfig c) {
        String what = "training stopped at step " + e.step() + ": the " + e.quantity() + " is " + e.value()
            + e.op().map(op -> ", first produced by op '" + op + "'").orElse("");
        String lowerLr = "with a lower train.lr (it is " + c.real("train.lr") + ")";
        String from = last.map(ck -> "; the last good checkpoint is step " + ck.step() + " in " + ck.dir()
                + ": rerun " + lowerLr + " to resume from it")
            .orElse("; no checkpoint was saved before it (checkpoint.every=" + c.integer("checkpoint.every")
                + "): rerun " + lowerLr + " to start again");
        String detect = e.op().isPresent() || c.bool("train.detect_anomaly") ? ""
            : ", or with train.detect_anomaly=true to name the op that produced it";
        return what + from + detect;
    }

    /** A run that stopped on a NaN or Inf; its message is the whole report, printed without a stack trace. */
    static final class TrainingStopped extends RuntimeException {
        TrainingStopped(String message, NonFiniteException cause) {
            super(message, cause);
        }
    }
}
