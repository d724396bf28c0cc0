// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.data.HfConfig;
import spindle.data.Safetensors;
import spindle.data.WeightFiles;
import spindle.data.tokenizer.TokenizerFiles;
import spindle.layers.lora.AdaptedModel;
import spindle.layers.lora.FrozenBase;
import spindle.layers.lora.LoraConfig;
import spindle.layers.lora.LoraModels;
import spindle.layers.lora.PeftAdapters;
import spindle.layers.lora.TargetModules;
import spindle.recipes.config.RecipeConfig;

/** finetune's model: the base directory with LoRA adapters from the lora.* keys, and what is written at the end. */
final class FinetuneModel {
    private FinetuneModel() {}

    /** The base directory, or an error saying how to make the default one. */
    static Path requireBase(String dir) {
        Path base = Path.of(dir);
        if (Files.isRegularFile(base.resolve("config.json")) && WeightFiles.exist(base)) {   // one file or shards
            return base;
        }
        throw new IllegalArgumentException("model.dir " + base + " is not a model directory (config.json and"
            + " model.safetensors): make the default base with `./spindle pretrain` (about 5 minutes; it writes"
            + " runs/pretrain/model), or set model.dir to a directory that has both files");
    }

    /**
     * The base with fresh adapters (B = 0, so it computes what the base does), only the adapters trainable; its
     * weight matrices stored as model.dtype says.
     */
    static AdaptedModel load(Path base, RecipeConfig c) {
        return LoraModels.fromPretrained(base, DataType.FLOAT, FrozenBase.parse(c.string("model.dtype"), "model.dtype"),
            loraConfig(c), c.integer("train.seed"));
    }

    /** PEFT's LoraConfig from the lora.* keys. */
    static LoraConfig loraConfig(RecipeConfig c) {
        List<String> targets = c.strings("lora.targets");
        TargetModules modules = targets.size() == 1 && targets.get(0).equalsIgnoreCase(TargetModules.ALL_LINEAR)
            ? TargetModules.allLinear() : TargetModules.names(targets);
        try {
            return LoraConfig.of(c.integer("lora.r"), c.real("lora.alpha"), modules).withDropout(c.real("lora.dropout"))
                .withRslora(c.bool("lora.use_rslora")).withDora(c.bool("lora.use_dora"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("lora.*: " + e.getMessage(), e);
        }
    }

    /** OUTPUT/adapter: PEFT's adapter_config.json (naming the base directory) and adapter_model.safetensors. */
    static void writeAdapter(AdaptedModel adapted, RecipeConfig c, Path base, Path dir) {
        PeftAdapters.save(adapted, loraConfig(c), base.toAbsolutePath().normalize().toString(), dir);
        System.out.println("adapter written to " + dir + " (./spindle generate --model-dir " + base + " --adapter " + dir
            + ")");
    }

    /**
     * A plain model directory: the base's config.json and tokenizer files ({@link TokenizerFiles}) and the merged
     * weights (W + s·B·A per adapted linear) under the base's keys, which {@code spindle generate} and {@code eval}
     * load as any other model, with the base's tokenizer.
     */
    static void writeMerged(AdaptedModel adapted, Path base, Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.copy(base.resolve("config.json"), dir.resolve("config.json"), StandardCopyOption.REPLACE_EXISTING);
        TokenizerFiles.copy(base, dir);
        Map<String, INDArray> merged = adapted.mergedState();
        Safetensors.write(dir.resolve("model.safetensors"), merged, Map.of("format", "pt"));
        adapted.adapters().keySet().forEach(name -> merged.get(name + ".weight").close());   // the new merged arrays
        System.out.println("merged model written to " + dir + " (./spindle generate --model-dir " + dir + ")");
    }
}
