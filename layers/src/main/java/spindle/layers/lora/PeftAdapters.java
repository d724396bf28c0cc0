// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import java.nio.file.Files;
import java.nio.file.Path;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * A PEFT adapter directory, as {@code PeftModel.save_pretrained} writes it and {@code PeftModel.from_pretrained}
 * reads it: {@value AdapterConfigFile#FILE} (the {@link LoraConfig}) and {@value AdapterWeights#FILE} (the
 * adapter tensors, {@link AdapterWeights}). The base model lives elsewhere, in its own model directory.
 */
public final class PeftAdapters {
    private PeftAdapters() {}

    /** True when {@code dir} holds an {@value AdapterConfigFile#FILE}. */
    public static boolean isAdapterDir(Path dir) {
        return Files.isRegularFile(dir.resolve(AdapterConfigFile.FILE));
    }

    /**
     * Writes {@code adapted}'s adapters and {@code config} to {@code dir} (created when missing); {@code baseModel}
     * (base_model_name_or_path, may be null) tells PEFT where the base lives. The tensors are stored in the base
     * weights' dtype.
     */
    public static void save(AdaptedModel adapted, LoraConfig config, String baseModel, Path dir) {
        AdapterWeights.save(adapted.model(), dir.resolve(AdapterWeights.FILE));
        AdapterConfigFile.write(dir.resolve(AdapterConfigFile.FILE), config, baseModel);
    }

    /** The LoRA config of the adapter directory {@code dir}. */
    public static LoraConfig config(Path dir) {
        return AdapterConfigFile.read(dir.resolve(AdapterConfigFile.FILE));
    }

    /**
     * The base model of {@code baseDir} (config.json, model.safetensors) with the adapter of {@code adapterDir}:
     * adapters on the modules its config targets, loaded strictly (a missing, extra or misshapen tensor is an
     * error naming the key and the shapes). Only the adapters are trainable.
     */
    public static AdaptedModel fromPretrained(Path baseDir, Path adapterDir, DataType dtype) {
        if (!isAdapterDir(adapterDir)) {
            throw new IllegalArgumentException("adapter directory " + adapterDir + " has no " + AdapterConfigFile.FILE);
        }
        AdaptedModel adapted = LoraModels.fromPretrained(baseDir, dtype, config(adapterDir), 0);
        load(adapted, adapterDir);
        return adapted;
    }

    /** Loads the tensors of the adapter directory {@code dir} into {@code adapted}'s adapters, strictly. */
    public static void load(AdaptedModel adapted, Path dir) {
        AdapterWeights.load(adapted.model(), dir.resolve(AdapterWeights.FILE));
    }
}
