// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run stopped at a checkpoint and resumed by new objects repeats an uninterrupted run bit for bit. */
class ResumeTest {

    /** Losses as their IEEE bits, so that equality means bitwise equality (and NaN equals NaN). */
    static List<Long> bits(List<Double> losses) {
        return losses.stream().map(Double::doubleToRawLongBits).toList();
    }

    @Test
    void resumedRunRepeatsTheUninterruptedLossesBitForBit(@TempDir Path dir) throws IOException {
        FitResult full = new TinyRun(30, null, 0, 0).fit();
        assertEquals(30, full.losses().size());

        FitResult first = new TinyRun(17, dir, 5, 0).fit();   // checkpoints at 5, 10, 15 and the end, 17
        assertEquals(bits(full.losses().subList(0, 17)), bits(first.losses()));

        TinyRun resumed = new TinyRun(30, dir, 5, 0);
        FitResult second = resumed.fit();
        assertEquals(17, second.firstStep());
        assertEquals(30, second.lastStep());
        assertEquals(bits(full.losses().subList(17, 30)), bits(second.losses()));
        assertEquals(Double.doubleToRawLongBits(full.evalLoss()), Double.doubleToRawLongBits(second.evalLoss()));
        // The dropout source was restored too: 2 micro-batches per step draw one seed each.
        assertEquals(60, resumed.random.draws());
    }

    @Test
    void withoutTheCheckpointTheSameStepsGiveOtherLosses(@TempDir Path dir) throws IOException {
        // The control for the test above: a fresh run's steps 1..13 differ from steps 18..30 of the full run.
        FitResult full = new TinyRun(30, null, 0, 0).fit();
        FitResult fresh = new TinyRun(13, null, 0, 0).fit();
        assertNotEquals(bits(full.losses().subList(17, 30)), bits(fresh.losses()));
    }

    @Test
    void keepsTheLastCheckpointsAndPointsLatestAtTheNewest(@TempDir Path dir) throws IOException {
        new TinyRun(22, dir, 5, 2).fit();   // 5, 10, 15, 20 and the end, 22: keep 20 and 22
        Checkpointer c = new Checkpointer(dir, 5, 2);
        assertEquals(List.of(dir.resolve("step-000020"), dir.resolve("step-000022")), c.complete());
        assertEquals("step-000022\n", Files.readString(dir.resolve("latest")));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of("latest", "step-000020", "step-000022"),
                files.map(p -> p.getFileName().toString()).sorted().toList(), "no temporaries are left");
        }
        Checkpoint last = c.latest().orElseThrow();
        assertEquals(22, last.step());
        assertEquals(22, last.config().at("/trainer/maxSteps").asLong());
        assertEquals(List.of("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"),
            List.copyOf(last.modelState().keySet()));
        assertTrue(last.optimizerTensors().containsKey("fc1.weight.exp_avg_sq"));
        assertEquals(22, last.optimizerState().steps().get("fc1.weight"));
        assertEquals(44, last.state().rngDraws());
        assertEquals(44 / 13, last.state().data().epoch());
    }

    @Test
    void ignoresHalfWrittenDirectoriesAndRemovesThemOnTheNextSave(@TempDir Path dir) throws IOException {
        new TinyRun(5, dir, 5, 0).fit();
        Path partial = Files.createDirectories(dir.resolve(".tmp-step-000010-4242"));
        Files.writeString(partial.resolve(Checkpointer.MODEL), "half a file");
        Files.createDirectories(dir.resolve("step-000009"));   // a copy made by hand, without trainer_state.json
        Checkpointer c = new Checkpointer(dir, 5, 0);
        assertEquals(5, c.latest().orElseThrow().step());
        FitResult r = new TinyRun(10, dir, 5, 0).fit();
        assertEquals(5, r.firstStep());
        assertFalse(Files.exists(partial), "the interrupted write is cleaned up");
        assertEquals(10, c.latest().orElseThrow().step());
    }
}
