// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import spindle.layers.lora.PeftAdapters;

/** {@code spindle merge}: a base model directory plus a PEFT adapter directory, written as one plain model directory. */
@Command(name = "merge", mixinStandardHelpOptions = true,
    description = "Merges a PEFT adapter directory (adapter_config.json + adapter_model.safetensors, as `spindle finetune`"
        + " writes it) into its base model and writes a plain model directory (config.json + model.safetensors, and the"
        + " base's tokenizer.json, tokenizer_config.json, special_tokens_map.json and generation_config.json where it"
        + " has them) that `spindle generate` and `spindle eval` load with the base's tokenizer; the same as"
        + " `spindle finetune --merge` after the fact.")
final class Merge implements Callable<Integer> {
    @Option(names = "--model-dir", defaultValue = "runs/pretrain/model", description = "Base model directory (default:"
        + " ${DEFAULT-VALUE}).")
    private Path modelDir;

    @Option(names = "--adapter", defaultValue = "runs/finetune/adapter", description = "Adapter directory (default:"
        + " ${DEFAULT-VALUE}).")
    private Path adapter;

    @Option(names = "--out", defaultValue = "runs/finetune/merged", description = "Where the merged model goes (default:"
        + " ${DEFAULT-VALUE}).")
    private Path out;

    @Override
    public Integer call() throws Exception {
        FinetuneModel.requireBase(modelDir.toString());
        FinetuneModel.writeMerged(PeftAdapters.fromPretrained(modelDir, adapter, DataType.FLOAT), modelDir, out);
        return 0;
    }
}
