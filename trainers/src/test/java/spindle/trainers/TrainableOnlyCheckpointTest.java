// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Activations;
import spindle.autograd.ops.Losses;
import spindle.data.DataLoader;
import spindle.data.LoaderOptions;
import spindle.optim.Adam;
import spindle.optim.AdamOptions;

/**
 * Fine-tuning checkpoints: with a frozen first layer, a trainable-only checkpointer writes just the trained
 * parameters and their optimizer state, and a run resumed from it into a fresh model (which holds the same frozen
 * base) repeats the uninterrupted losses bit for bit.
 */
class TrainableOnlyCheckpointTest {

    /** TinyRun's MLP with fc1 frozen, AdamW on fc2 only, checkpoints every {@code every} steps when dir is set. */
    private static final class FrozenBaseRun {
        final TinyRun.Mlp model = new TinyRun.Mlp(16, new SplittableRandom(1));
        final Trainer trainer;

        FrozenBaseRun(long steps, Path dir, long every) {
            model.fc1.freeze();
            var optimizer = new Adam(model.trainableParameters(), AdamOptions.adamW().withLr(TinyRun.LR));
            Objective objective = batch -> StepLoss.of(Losses.crossEntropy(
                model.fc2.forward(Activations.tanh(model.fc1.forward(Tensor.of(batch.inputs())))),
                Tensor.of(batch.targets())));
            trainer = new Trainer(model, optimizer, TinyRun.SCHEDULE, objective,
                TrainerOptions.defaults().withMaxSteps(steps));
            if (dir != null) {
                trainer.setCheckpointer(new Checkpointer(dir, every, 0).trainableOnly());
            }
        }

        FitResult fit() throws IOException {
            return trainer.fit(new DataLoader(TinyRun.teacherData(200, 5), LoaderOptions.of(16).shuffled(7)));
        }
    }

    @Test
    void holdsOnlyTheTrainedParametersAndResumesBitForBit(@TempDir Path dir) throws IOException {
        FitResult full = new FrozenBaseRun(12, null, 0).fit();
        FitResult first = new FrozenBaseRun(6, dir, 3).fit();
        FitResult second = new FrozenBaseRun(12, dir, 3).fit();
        assertEquals(6, second.firstStep());
        assertEquals(ResumeTest.bits(full.losses().subList(0, 6)), ResumeTest.bits(first.losses()));
        assertEquals(ResumeTest.bits(full.losses().subList(6, 12)), ResumeTest.bits(second.losses()));

        Checkpoint last = new Checkpointer(dir, 3, 0).latest().orElseThrow();
        assertTrue(last.isTrainableOnly());
        assertFalse(Files.exists(last.dir().resolve(Checkpointer.MODEL)), "no copy of the frozen base");
        assertEquals(List.of("fc2.weight", "fc2.bias"), List.copyOf(last.modelState().keySet()));
        assertEquals(List.of("fc2.bias.exp_avg", "fc2.bias.exp_avg_sq", "fc2.weight.exp_avg", "fc2.weight.exp_avg_sq"),
            last.optimizerTensors().keySet().stream().sorted().toList());
    }

    @Test
    void aModelWhoseTrainableParametersDifferIsRefusedNamingTheFileAndKeys(@TempDir Path dir) throws IOException {
        new FrozenBaseRun(3, dir, 3).fit();
        Checkpoint c = new Checkpointer(dir, 3, 0).latest().orElseThrow();
        TinyRun.Mlp unfrozen = new TinyRun.Mlp(16, new SplittableRandom(1));
        var e = assertThrows(IllegalArgumentException.class, () -> c.loadModelInto(unfrozen));
        assertEquals(c.dir().resolve(Checkpointer.TRAINABLE) + ": the trainable parameters do not match: missing keys"
            + " [fc1.weight, fc1.bias], unexpected keys [], misshapen keys []", e.getMessage());
    }
}
