// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.GradMode;
import spindle.data.Safetensors;
import spindle.layers.LoadReport;
import spindle.layers.Module;
import spindle.optim.Optimizer;
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

    /** The model's state dict, by Hugging Face key; only the trainable parameters in a trainable-only checkpoint. */
    public Map<String, INDArray> modelState() throws IOException {
        return Safetensors.read(modelFile());
    }

    /** True for a checkpoint of a {@link Checkpointer#trainableOnly()} checkpointer (it holds no frozen weights). */
    public boolean isTrainableOnly() {
        return Files.isRegularFile(dir.resolve(Checkpointer.TRAINABLE));
    }

    private Path modelFile() {
        return dir.resolve(isTrainableOnly() ? Checkpointer.TRAINABLE : Checkpointer.MODEL);
    }

    /** The optimizer's scalar state (groups, hyper-parameters, step counts); an unreadable file is named. */
    public OptimizerState optimizerState() throws IOException {
        Path f = dir.resolve(Checkpointer.OPTIMIZER_JSON);
        try {
            return OptimizerState.fromJson(Files.readString(f));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(f + ": " + e.getMessage(), e);
        }
    }

    /** The optimizer's buffers, "parameter name.state key" to array. */
    public Map<String, INDArray> optimizerTensors() throws IOException {
        return Safetensors.read(dir.resolve(Checkpointer.OPTIMIZER));
    }

    /**
     * Loads the weights into {@code model} strictly: a missing, unexpected or misshapen tensor (say, after the
     * model config changed) is an error naming this checkpoint's file, the tensor and both shapes. A trainable-only
     * checkpoint must match the model's trainable parameters in the same way; the frozen ones are left as they are.
     */
    public void loadModelInto(Module model) throws IOException {
        Path f = modelFile();
        Map<String, INDArray> weights = Safetensors.read(f);
        try (GradMode.Scope off = GradMode.disable()) {   // loading assigns parameters in place
            if (isTrainableOnly()) {
                Map<String, INDArray> trained = new LinkedHashMap<>();
                model.trainableParameters().forEach((name, p) -> trained.put(name, p.value()));
                LoadReport report = LoadReport.compare(trained, weights);
                if (!report.isClean()) {
                    throw new IllegalArgumentException("the trainable parameters do not match: " + report.describe());
                }
            }
            model.loadStateDict(weights, !isTrainableOnly());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(f + ": " + e.getMessage(), e);
        } finally {
            weights.values().forEach(INDArray::close);
        }
    }

    /**
     * Loads the optimizer's step counts and buffers, keeping the options {@code optimizer} was built with (so
     * a resumed run uses the learning rate of its current configuration); a missing, extra or misshapen
     * tensor is an error naming optimizer.safetensors and the tensor.
     */
    public void loadOptimizerInto(Optimizer optimizer) throws IOException {
        OptimizerState scalars = optimizerState();
        Path f = dir.resolve(Checkpointer.OPTIMIZER);
        Map<String, INDArray> tensors = Safetensors.read(f);
        try {
            optimizer.loadStateKeepingOptions(scalars, tensors);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(f + ": " + e.getMessage(), e);
        } finally {
            tensors.values().forEach(INDArray::close);   // the optimizer keeps copies
        }
    }

    /** config.json: {"trainer": the TrainerOptions, "run": the run's configuration}. */
    public JsonNode config() throws IOException {
        Path f = dir.resolve(Checkpointer.CONFIG);
        try {
            return new ObjectMapper().readTree(f.toFile());
        } catch (JsonProcessingException e) {
            throw new IOException(f + " is not JSON: " + e.getOriginalMessage(), e);
        }
    }
}
