// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import spindle.data.tokenizer.ModelTokenizer;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;
import spindle.layers.models.Generator;
import spindle.layers.models.SamplingOptions;

/** {@code spindle generate}: text from a model directory (config.json, weights, optionally tokenizer.json). */
@Command(name = "generate", mixinStandardHelpOptions = true,
    description = "Generates text from a model directory: one `spindle pretrain` wrote (OUTPUT/model), or a Hugging"
        + " Face one (model.safetensors or shards with model.safetensors.index.json; bf16, f16 or f32). The"
        + " directory's tokenizer.json is used when present (generation also stops at tokenizer_config.json's"
        + " eos_token and config.json's eos_token_id), else bytes.")
final class Generate implements Callable<Integer> {
    @Option(names = "--model-dir", defaultValue = "runs/pretrain/model", description = "Model directory (default:"
        + " ${DEFAULT-VALUE}); one written by `spindle convert` runs with quantized linears, one with a qat.json"
        + " fake-quantized.")
    private Path modelDir;

    @Option(names = "--adapter", description = "A PEFT adapter directory (as `spindle finetune` writes) applied to the"
        + " model of --model-dir, unmerged.")
    private Path adapter;

    @Option(names = "--prompt", defaultValue = "Call me Ishmael. ", description = "Prompt text (default: '${DEFAULT-VALUE}').")
    private String prompt;

    @Option(names = "--max-new-tokens", defaultValue = "200", description = "Tokens to generate (default:"
        + " ${DEFAULT-VALUE}); fewer, with a warning on stderr, where the prompt and they would exceed the model's"
        + " max_position_embeddings.")
    private int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "0.8", description = "0 = greedy (default: ${DEFAULT-VALUE}).")
    private double temperature;

    @Option(names = "--top-k", defaultValue = "40", description = "Top-k cut, 0 = off (default: ${DEFAULT-VALUE}).")
    private int topK;

    @Option(names = "--top-p", defaultValue = "1.0", description = "Nucleus cut, 1 = off (default: ${DEFAULT-VALUE}).")
    private double topP;

    @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Override
    public Integer call() throws java.io.IOException {
        CausalLm model = RunnableModels.load(modelDir, adapter);
        try (ModelTokenizer tokens = ModelTokenizer.forModelDir(modelDir)) {
            CausalLms.requireVocab(model, tokens.tokenizer());
            var options = SamplingOptions.greedy(maxNewTokens).withTemperature(temperature).withTopK(topK).withTopP(topP)
                .withSeed(seed).withStopTokens(tokens.stopTokens());
            System.out.println(Generator.generate(model, tokens.tokenizer(), prompt, options));
        }
        return 0;
    }
}
