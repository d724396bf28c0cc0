// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import spindle.data.tokenizer.ModelTokenizer;
import spindle.layers.lora.AdaptedModel;
import spindle.layers.models.CausalLms;
import spindle.optim.Adam;
import spindle.optim.AdamOptions;
import spindle.optim.LrSchedule;
import spindle.optim.ParamGroups;
import spindle.recipes.config.ConfigKey;
import spindle.recipes.config.RecipeConfig;
import spindle.trainers.Checkpointer;
import spindle.trainers.ConsoleLogger;
import spindle.trainers.CsvLogger;
import spindle.trainers.DropoutSeeds;
import spindle.trainers.FitResult;
import spindle.trainers.LanguageModeling;
import spindle.trainers.LossCurvePlot;
import spindle.trainers.OutputLock;
import spindle.trainers.TensorBoardLogger;
import spindle.trainers.Trainer;
import spindle.trainers.TrainerOptions;
import spindle.trainers.mpi.ProcessGroup;

/**
 * {@code spindle finetune}: LoRA fine-tuning of a base model directory on prompt/response pairs, with the loss on
 * the responses only, reporting held-out response loss and exact-match accuracy before and after, writing the
 * PEFT adapter (and with --merge the merged model). Checkpoints hold the adapter and its optimizer state only.
 */
@Command(name = "finetune", mixinStandardHelpOptions = true,
    description = {"LoRA fine-tunes a base model directory (default: the one `spindle pretrain` writes) on prompt/response"
        + " pairs: the embedded quiz questions by default, or JSONL files (one {\"prompt\": ..., \"response\": ...} per"
        + " line; an optional \"answers\" list holds accepted variants). Text is tokenized with the base directory's"
        + " tokenizer.json when it has one, else byte-level (the models `spindle pretrain` writes). The loss is taken on"
        + " the response and the newline that ends it, not on the prompt.",
        "%nPrints PEFT's trainable-params line, then before and after training: the held-out loss on the response"
            + " tokens and the exact-match accuracy of greedy answers on both splits, and some answers. Writes"
            + " OUTPUT/adapter (PEFT's adapter_config.json + adapter_model.safetensors), OUTPUT/checkpoints (adapter and"
            + " optimizer state only; a rerun resumes, as pretrain's do), OUTPUT/metrics.csv, OUTPUT/tensorboard,"
            + " OUTPUT/loss.png, and with --merge OUTPUT/merged (a plain model directory with the base's tokenizer files, for"
            + " `spindle generate`/`eval`).",
        "%nUnder mpirun -np N each process trains on data.batch / N rows and answers 1/N of the questions; rank 0"
            + " writes (README: \"Several machines\")."})
final class Finetune implements Callable<Integer>, ConfiguredRecipe {
    static final List<ConfigKey> KEYS = FinetuneKeys.ALL;

    @Mixin
    private RecipeArgs args = new RecipeArgs();

    @Option(names = "--merge", description = "Also write OUTPUT/merged: the base with the adapter merged into its weights,"
        + " its config.json and tokenizer files (tokenizer.json, tokenizer_config.json, special_tokens_map.json,"
        + " generation_config.json, those it has).")
    private boolean merge;

    @Override
    public List<ConfigKey> keys() {
        return KEYS;
    }

    @Override
    public Integer call() throws Exception {
        RecipeConfig c = args.load(KEYS);
        Path base = FinetuneModel.requireBase(c.string("model.dir"));   // before anything is written
        Path out = Path.of(c.string("output.dir"));
        ProcessGroup group = ProcessGroup.world();   // under mpirun: this rank of the job
        try (OutputLock lock = group.isMain() ? OutputLock.acquire(out, System.err::println) : null) {
            return train(c, base, out, group);
        }
    }

    private Integer train(RecipeConfig c, Path base, Path out, ProcessGroup group) throws Exception {
        AdaptedModel adapted = FinetuneModel.load(base, c);
        var model = adapted.model();
        var tokenizer = ModelTokenizer.forModelDir(base).tokenizer();   // the base's tokenizer.json, else bytes
        CausalLms.requireVocab(model, tokenizer);
        var data = FinetuneData.load(c, tokenizer, model.maxPositions());
        Ranks.printOnMain(group, "spindle finetune: base %s, LoRA r=%d alpha=%s on %d modules, %,d training and %,d"
            + " held-out pairs, output %s%s%n%s%n", base, c.integer("lora.r"), c.real("lora.alpha"),
            adapted.adapters().size(), data.trainPairs().size(), data.testPairs().size(), out, Ranks.count(group),
            adapted.trainableParamsLine());
        FinetuneScores before = FinetuneScores.measure(model, tokenizer, data, c, group);
        Ranks.printOnMain(group, "before: %s%n", before.line());

        var optimizer = new Adam(ParamGroups.decayMatricesOnly(model.trainableParameters(), c.real("train.weight_decay")),
            AdamOptions.adamW().withLr(c.real("train.lr")));
        int steps = c.integer("train.steps");
        var options = TrainerOptions.defaults().withMaxSteps(steps).withGradAccumulation(c.integer("train.grad_accum"))
            .withMaxGradNorm(c.real("train.grad_clip")).withEval(c.integer("train.eval_every"), c.integer("train.eval_batches"))
            .withReplicas(c.integer("train.replicas"));
        var checkpoints = new Checkpointer(out.resolve("checkpoints"), c.integer("checkpoint.every"),
            c.integer("checkpoint.keep_last")).trainableOnly();
        var trainer = new Trainer(model, optimizer,
            LrSchedule.warmupCosine(c.integer("train.warmup"), steps, c.real("train.min_lr_ratio")),
            new LanguageModeling(model), options)
            .setCheckpointer(checkpoints)
            .setConfig(c.values(), FinetuneKeys.RESUME).setResume(c.bool("train.resume"))
            .addLogger(new ConsoleLogger(System.out))
            .addLogger(new CsvLogger(out))
            .addLogger(new TensorBoardLogger(out.resolve("tensorboard")))
            .addLogger(new LossCurvePlot(out.resolve("loss.png")));
        // masks keyed by step and replica (each rank its own), so a resumed run draws the straight run's masks
        adapted.setDropoutSeeds(new DropoutSeeds(c.integer("train.seed"), group.rank(), trainer::step));
        FitResult result = GuardedFit.fit(trainer, checkpoints, data.trainLoader(c, group), data.testLoader(c), c);
        FinetuneScores after = FinetuneScores.measure(model, tokenizer, data, c, group);
        Ranks.requireSameParameters(model, group);
        if (!group.isMain()) {
            return 0;   // rank 0 writes the report and the adapter
        }
        if (result.losses().isEmpty()) {
            System.out.printf("no new steps: already at step %d (raise train.steps to train on)%n", result.lastStep());
        }
        System.out.println("before: " + before.line());
        System.out.println("after:  " + after.line());
        System.out.println("held-out answers, before -> after:");
        FinetuneScores.printAnswers(System.out, before, after, c.integer("eval.show"));
        FinetuneModel.writeAdapter(adapted, c, base, out.resolve("adapter"));
        if (merge) {
            FinetuneModel.writeMerged(adapted, base, out.resolve("merged"));
        }
        return 0;
    }
}
