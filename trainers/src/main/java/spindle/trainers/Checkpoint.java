// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.data.Safetensors;
import spindle.optim.OptimizerState;

/**
 * One complete checkpoint directory written by {@link Checkpointer}; the tensors are read when asked for,
 * so opening one to look at its step costs only a small JSON read.
 */
public record Checkpoint(Path dir, TrainerState state) {

    /** Opens {@code dir}, reading its trainer_state.json; an error names the file. */
    public static Checkpoint open(Path dir) throws IOException {
        Path f = dir.resolve(Checkpointer.TRAINER_STATE);
        if (!Files.isRegularFile(f)) {
            throw new IOException(dir + " is not a complete checkpoint: it has no " + Checkpointer.TRAINER_STATE);
        }
        return new Checkpoint(dir, TrainerState.fromJson(Files.readString(f), f.toString()));
    }

    /** Optimizer steps taken when it was written. */
    public long step() {
        return state.step();
    }

    /** The model's state dict, by Hugging Face key. */
    public Map<String, INDArray> modelState() throws IOException {
        return Safetensors.read(dir.resolve(Checkpointer.MODEL));
    }

    /** The optimizer's scalar state (groups, hyper-parameters, step counts). */
    public OptimizerState optimizerState() throws IOException {
        return OptimizerState.fromJson(Files.readString(dir.resolve(Checkpointer.OPTIMIZER_JSON)));
    }

    /** The optimizer's buffers, "parameter name.state key" to array. */
    public Map<String, INDArray> optimizerTensors() throws IOException {
        return Safetensors.read(dir.resolve(Checkpointer.OPTIMIZER));
    }

    /** config.json: {"trainer": the TrainerOptions, "run": the run's configuration}. */
    public JsonNode config() throws IOException {
        return new ObjectMapper().readTree(dir.resolve(Checkpointer.CONFIG).toFile());
    }
}
