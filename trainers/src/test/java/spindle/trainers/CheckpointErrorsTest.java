// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.data.Safetensors;

/**
 * A checkpoint that does not fit the run is an error naming its file and the tensor, never a resume with
 * state silently made up; a checkpoint directory without trainer_state.json is reported, not passed over.
 */
class CheckpointErrorsTest {

    /** Trains 5 steps into {@code dir} and returns the checkpoint step-000005. */
    private static Path checkpointAtStep5(Path dir) throws IOException {
        new TinyRun(5, dir, 5, 0).fit();
        return dir.resolve("step-000005");
    }

    /** Rewrites a safetensors file of a checkpoint after {@code edit} changed its tensors. */
    private static void edit(Path file, Consumer<Map<String, INDArray>> edit) throws IOException {
        Map<String, INDArray> tensors = new LinkedHashMap<>(Safetensors.read(file));
        edit.accept(tensors);
        Safetensors.write(file, tensors, Map.of("format", "pt"));
    }

    /** The message of the error that resuming from {@code dir} gives. */
    private static String resumeError(Path dir) {
        return assertThrows(IllegalArgumentException.class, () -> new TinyRun(10, dir, 5, 0).fit()).getMessage();
    }

    @Test
    void aMissingOptimizerTensorNamesTheFileAndTheTensor(@TempDir Path dir) throws IOException {
        Path file = checkpointAtStep5(dir).resolve(Checkpointer.OPTIMIZER);
        edit(file, t -> t.remove("fc1.weight.exp_avg_sq"));
        String message = resumeError(dir);
        assertTrue(message.startsWith(file + ": ") && message.contains("tensor 'fc1.weight.exp_avg_sq' is missing"),
            message);
    }

    @Test
    void anExtraOptimizerTensorNamesTheFileAndTheTensor(@TempDir Path dir) throws IOException {
        Path file = checkpointAtStep5(dir).resolve(Checkpointer.OPTIMIZER);
        edit(file, t -> t.put("fc2.bias.momentum_buffer", Nd4j.zeros(DataType.FLOAT, TinyRun.CLASSES)));
        String message = resumeError(dir);
        assertTrue(message.startsWith(file + ": ")
            && message.contains("tensor 'fc2.bias.momentum_buffer' is not a state AdamW keeps"), message);
    }

    @Test
    void aMisshapenOptimizerTensorNamesTheFileAndBothShapes(@TempDir Path dir) throws IOException {
        Path file = checkpointAtStep5(dir).resolve(Checkpointer.OPTIMIZER);
        edit(file, t -> t.put("fc1.weight.exp_avg", Nd4j.zeros(DataType.FLOAT, 2, 2)));
        String message = resumeError(dir);
        assertTrue(message.startsWith(file + ": ")
            && message.contains("tensor 'fc1.weight.exp_avg' is FLOAT [2, 2] but its parameter is FLOAT [32, 8]"), message);
    }

    @Test
    void anUnparseableOptimizerJsonNamesTheFile(@TempDir Path dir) throws IOException {
        Path file = checkpointAtStep5(dir).resolve(Checkpointer.OPTIMIZER_JSON);
        Files.writeString(file, "{\"optimizer\": \"AdamW\", \"groups\": [");
        String message = resumeError(dir);
        assertTrue(message.startsWith(file + ": not an optimizer state"), message);
    }

    @Test
    void aModelOfAnotherShapeNamesTheCheckpointTheTensorAndBothShapes(@TempDir Path dir) throws IOException {
        Path file = checkpointAtStep5(dir).resolve(Checkpointer.MODEL);
        edit(file, t -> t.put("fc2.weight", Nd4j.zeros(DataType.FLOAT, TinyRun.CLASSES, 16)));
        String message = resumeError(dir);
        assertTrue(message.startsWith(file + ": ") && message.contains("fc2.weight: module [4, 32], file [4, 16]"),
            message);
    }

    @Test
    void aCheckpointWithoutTrainerStateIsReportedAndTheRunFallsBackToThePreviousOne(@TempDir Path dir)
            throws IOException {
        new TinyRun(10, dir, 5, 0).fit();
        Path broken = dir.resolve("step-000010");
        Files.delete(broken.resolve(Checkpointer.TRAINER_STATE));
        List<String> notices = new ArrayList<>();
        TinyRun resumed = new TinyRun(12, dir, 5, 0);
        FitResult r = resumed.trainer.setNotices(notices::add).fit(resumed.train, resumed.eval);
        assertEquals(5, r.firstStep());
        assertTrue(notices.contains("checkpoint " + broken + " is incomplete (it has no trainer_state.json) and is"
            + " skipped; resuming from the previous complete one, " + dir.resolve("step-000005")
            + "; a save of its step replaces it"), notices.toString());
        assertTrue(Files.isRegularFile(broken.resolve(Checkpointer.TRAINER_STATE)), "step 10 was saved again");
    }
}
