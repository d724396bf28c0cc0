// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import spindle.autograd.GradMode;
import spindle.data.DataLoader;
import spindle.data.LoaderOptions;
import spindle.data.TextCorpus;
import spindle.data.tokenizer.ModelTokenizer;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;
import spindle.trainers.LanguageModeling;

/** {@code spindle eval}: mean next-token loss and perplexity of a trained model on a split of a text. */
@Command(name = "eval", mixinStandardHelpOptions = true,
    description = "Mean cross entropy (nats per token) and perplexity of a model directory on the train or val split"
        + " of a text, over sequential windows; prints one JSON line. Tokens are those of the directory's"
        + " tokenizer.json when present, else bytes.")
final class Evaluate implements Callable<Integer> {
    @Option(names = "--model-dir", defaultValue = "runs/pretrain/model", description = "Model directory (default:"
        + " ${DEFAULT-VALUE}); one written by `spindle convert` runs with quantized linears, one with a qat.json"
        + " fake-quantized.")
    private Path modelDir;

    @Option(names = "--adapter", description = "A PEFT adapter directory (as `spindle finetune` writes) applied to the"
        + " model of --model-dir, unmerged.")
    private Path adapter;

    @Option(names = "--text", defaultValue = "moby-dick", description = "'moby-dick' or a UTF-8 text file (default: ${DEFAULT-VALUE}).")
    private String text;

    @Option(names = "--split", defaultValue = "val", description = "train or val (default: ${DEFAULT-VALUE}).")
    private String split;

    @Option(names = "--val-fraction", defaultValue = "0.05", description = "Held-out share, as in pretrain (default: ${DEFAULT-VALUE}).")
    private double valFraction;

    @Option(names = "--seq", defaultValue = "128", description = "Tokens per window (default: ${DEFAULT-VALUE}).")
    private int seq;

    @Option(names = "--batches", defaultValue = "20", description = "Batches of 16 windows to average, 0 = all (default: ${DEFAULT-VALUE}).")
    private int batches;

    @Override
    public Integer call() throws Exception {
        if (!split.equals("train") && !split.equals("val")) {
            throw new IllegalArgumentException("--split must be train or val but is " + split);
        }
        CausalLm model = RunnableModels.load(modelDir, adapter);
        Path work = Files.createTempDirectory("spindle-eval");
        TextCorpus.Split corpus;
        try (ModelTokenizer tokenizer = ModelTokenizer.forModelDir(modelDir)) {
            CausalLms.requireVocab(model, tokenizer.tokenizer());
            corpus = TextCorpus.prepare(Texts.source(text), Texts.read(text), tokenizer.tokenizer(), work, valFraction);
        }
        var tokens = split.equals("val") ? corpus.openVal() : corpus.openTrain();
        var loader = new DataLoader(tokens.windows(seq), LoaderOptions.of(16).dropLast());
        int limit = batches == 0 ? loader.batchesPerEpoch() : Math.min(batches, loader.batchesPerEpoch());
        if (limit == 0) {
            throw new IllegalArgumentException("the " + split + " split of " + text + " has fewer than 16 windows of " + seq);
        }
        var objective = new LanguageModeling(model);
        double sum = 0;
        model.eval();
        try (GradMode.Scope off = GradMode.disable()) {
            for (int i = 0; i < limit; i++) {
                sum += objective.parts(loader.next()).crossEntropy().item();
            }
        }
        double loss = sum / limit;
        try (var files = Files.walk(work)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
        FiniteEval.requireFinite(loss, model, modelDir, split);
        System.out.println(String.format(Locale.ROOT, "{\"split\": \"%s\", \"batches\": %d, \"loss\": %.4f, \"perplexity\": %.3f}",
            split, limit, loss, Math.exp(loss)));
        return 0;
    }
}
