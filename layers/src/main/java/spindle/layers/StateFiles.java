// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.data.Safetensors;
import spindle.data.WeightFiles;

/**
 * A module's state dict in a safetensors file, or in a model directory's weights (one file or Hugging Face's
 * shards with their index): saved atomically, loaded strictly or with a report.
 */
public final class StateFiles {
    private StateFiles() {}

    /**
     * Writes every parameter and persistent buffer under its checkpoint key, in registration order. The write
     * is atomic: {@code file} holds either its previous content or the complete new state, never a part.
     */
    public static void save(Module module, Path file) {
        try {
            Safetensors.write(file, module.stateDict(), Map.of("format", "pt"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /**
     * Loads {@code file} into {@code module}, converting each tensor to its member's dtype (a float32 or bf16
     * file into a float64 module). Strict: a missing, unexpected or misshapen key is an error naming the file,
     * the key and both shapes, and nothing is loaded. Non-strict: what matches is loaded and the rest reported.
     */
    public static LoadReport load(Module module, Path file, boolean strict) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("weights file " + file + " does not exist");
        }
        Map<String, INDArray> state;
        try {
            state = Safetensors.read(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        try {
            return module.loadStateDict(state, strict);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        } finally {
            state.values().forEach(INDArray::close);   // the file's copies are no longer needed
        }
    }

    /** {@link #saveModel(Module, Path, long)} with save_pretrained's default shard size, 5 GB. */
    public static void saveModel(Module module, Path dir) {
        saveModel(module, dir, WeightFiles.DEFAULT_MAX_SHARD_BYTES);
    }

    /**
     * Writes the state dict into {@code dir} as save_pretrained does: model.safetensors, or shards of at most
     * {@code maxShardBytes} (a larger tensor alone in its shard) with model.safetensors.index.json.
     */
    public static void saveModel(Module module, Path dir, long maxShardBytes) {
        try {
            WeightFiles.write(dir, module.stateDict(), Map.of("format", "pt"), maxShardBytes);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the weights of " + dir, e);
        }
    }

    /**
     * Loads a model directory's weights (model.safetensors, or the shards its index names) into {@code module},
     * converting each tensor to its member's dtype: bf16 and f16 widen exactly. Errors name the directory, the
     * shard and the tensor; strict as {@link #load}.
     */
    public static LoadReport loadModel(Module module, Path dir, boolean strict) {
        Map<String, INDArray> state;
        try {
            state = WeightFiles.read(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the weights of " + dir, e);
        }
        try {
            return module.loadStateDict(state, strict);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dir + ": " + e.getMessage(), e);
        } finally {
            state.values().forEach(INDArray::close);
        }
    }
}
