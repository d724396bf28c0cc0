// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static spindle.recipes.config.ConfigKey.Type.BOOL;
import static spindle.recipes.config.ConfigKey.Type.DOUBLE;
import static spindle.recipes.config.ConfigKey.Type.INT;
import static spindle.recipes.config.ConfigKey.Type.STRING;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import spindle.data.TextCorpus;
import spindle.data.tokenizer.ByteTokenizer;
import spindle.layers.StateFiles;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;
import spindle.layers.models.Generator;
import spindle.layers.models.SamplingOptions;
import spindle.optim.Adam;
import spindle.optim.AdamOptions;
import spindle.optim.LrSchedule;
import spindle.optim.ParamGroups;
import spindle.recipes.config.ConfigKey;
import spindle.recipes.config.RecipeConfig;
import spindle.trainers.Checkpointer;
import spindle.trainers.ConsoleLogger;
import spindle.trainers.CsvLogger;
import spindle.trainers.FitResult;
import spindle.trainers.LanguageModeling;
import spindle.trainers.LossCurvePlot;
import spindle.trainers.OutputLock;
import spindle.trainers.ResumeRules;
import spindle.trainers.TensorBoardLogger;
import spindle.trainers.Trainer;
import spindle.trainers.TrainerOptions;
import spindle.trainers.mpi.ProcessGroup;

/**
 * {@code spindle pretrain}: trains a causal LM from scratch on a text, byte-level, with AdamW, warmup + cosine,
 * checkpoints (resumed automatically), console/CSV/TensorBoard logs and a PNG loss curve; ends with a sample.
 */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
    description = {"Pretrains a Llama- or DeepSeek-style model on a text (default: the embedded Moby-Dick), byte-level.",
        "%nWrites OUTPUT/checkpoints, OUTPUT/metrics.csv, OUTPUT/tensorboard, OUTPUT/loss.png and OUTPUT/model"
            + " (config.json + model.safetensors, for `spindle generate`). Rerunning resumes from the last checkpoint:"
            + " lr, schedule, steps and cadences may change, the model, data, seed and batch may not (train.resume=false"
            + " starts again at step 0). One run at a time per output folder.",
        "%nUnder mpirun -np N each process trains on data.batch / N rows; rank 0 writes (README: \"Several machines\")."})
final class Pretrain implements Callable<Integer>, ConfiguredRecipe {
    static final List<ConfigKey> KEYS = List.of(
        ConfigKey.of("model.config", STRING, "demo-llama", "preset " + ModelSpecs.PRESETS + " or config.json path"),
        ConfigKey.of("data.text", STRING, "moby-dick", "'moby-dick' (embedded) or a UTF-8 text file"),
        ConfigKey.of("data.seq", INT, 128, "tokens per training sequence, up to max_position_embeddings").atLeast(1),
        ConfigKey.of("data.batch", INT, 16, "sequences per batch (over all processes under mpirun)").atLeast(1),
        ConfigKey.of("data.val_fraction", DOUBLE, 0.05, "share of the text held out for eval").above(0).below(1),
        ConfigKey.of("train.steps", INT, 800, "optimizer steps").atLeast(1),
        ConfigKey.of("train.lr", DOUBLE, 3e-3, "peak learning rate").above(0),
        ConfigKey.of("train.min_lr_ratio", DOUBLE, 0.1, "cosine floor as a share of lr").atLeast(0).atMost(1),
        ConfigKey.of("train.warmup", INT, 30, "linear warmup steps").atLeast(0),
        ConfigKey.of("train.weight_decay", DOUBLE, 0.1, "AdamW decay of matrices (rank >= 2)").atLeast(0),
        ConfigKey.of("train.grad_clip", DOUBLE, 1.0, "global gradient-norm clip (0 = off)").atLeast(0),
        ConfigKey.of("train.grad_accum", INT, 1, "micro-batches per step").atLeast(1),
        ConfigKey.of("train.replicas", INT, 2, "data-parallel threads, each on batch/replicas rows (1 = off)").atLeast(1),
        ConfigKey.of("train.seed", INT, 0, "seed of weights and data order"),
        ConfigKey.of("train.resume", BOOL, true, "continue from the last checkpoint; false deletes them, starts at 0"),
        ConfigKey.of("train.eval_every", INT, 200, "steps between evals (0 = never)").atLeast(0),
        ConfigKey.of("train.eval_batches", INT, 4, "batches per eval").atLeast(1),
        ConfigKey.of("train.detect_anomaly", BOOL, false, "check every op for NaN/Inf, to name the one that made it (slower)"),
        ConfigKey.of("checkpoint.every", INT, 200, "steps between checkpoints (0 = only at the end)").atLeast(0),
        ConfigKey.of("checkpoint.keep_last", INT, 2, "checkpoints kept (0 = all)").atLeast(0),
        ConfigKey.of("output.dir", STRING, "runs/pretrain", "where everything is written"),
        ConfigKey.of("generate.prompt", STRING, "Call me Ishmael. ", "prompt of the final sample"),
        ConfigKey.of("generate.max_new_tokens", INT, 200, "length of the final sample (0 = none)").atLeast(0),
        ConfigKey.of("generate.temperature", DOUBLE, 0.8, "sampling temperature (0 = greedy)").atLeast(0),
        ConfigKey.of("generate.top_k", INT, 40, "top-k cut (0 = off)").atLeast(0));

    /** Keys a rerun may not change while it resumes (the rest, lr and schedule included, may). */
    static final ResumeRules RESUME = ResumeRules.fixed("model.", "data.text", "data.val_fraction", "data.seq",
        "data.batch", "train.seed", "train.replicas", "train.grad_accum").withFreshStartKey("train.resume");

    @Mixin
    private RecipeArgs args = new RecipeArgs();

    @Override
    public List<ConfigKey> keys() {
        return KEYS;
    }

    @Override
    public Integer call() throws Exception {
        RecipeConfig c = args.load(KEYS);
        Path out = Path.of(c.string("output.dir"));
        ProcessGroup group = ProcessGroup.world();   // under mpirun: this rank of the job
        try (OutputLock lock = group.isMain() ? OutputLock.acquire(out, System.err::println) : null) {
            return train(c, out, group);
        }
    }

    private Integer train(RecipeConfig c, Path out, ProcessGroup group) throws Exception {
        var hf = ModelSpecs.resolve(c.string("model.config"));
        var tokenizer = new ByteTokenizer();
        CausalLm model = CausalLms.fromHfConfig(hf, DataType.FLOAT, c.integer("train.seed"));
        CausalLms.requireVocab(model, tokenizer);
        var split = TextCorpus.prepare(Texts.source(c.string("data.text")), Texts.read(c.string("data.text")), tokenizer,
            Ranks.dataDir(out, group), c.real("data.val_fraction"));
        var data = TextLoaders.of(c, split, hf, group);
        var optimizer = new Adam(ParamGroups.decayMatricesOnly(model.trainableParameters(), c.real("train.weight_decay")),
            AdamOptions.adamW().withLr(c.real("train.lr")));
        int steps = c.integer("train.steps");
        var options = TrainerOptions.defaults().withMaxSteps(steps).withGradAccumulation(c.integer("train.grad_accum"))
            .withMaxGradNorm(c.real("train.grad_clip")).withEval(c.integer("train.eval_every"), c.integer("train.eval_batches"))
            .withReplicas(c.integer("train.replicas"));
        var schedule = LrSchedule.warmupCosine(c.integer("train.warmup"), steps, c.real("train.min_lr_ratio"));
        Ranks.printOnMain(group, "spindle pretrain: %s, %,d parameters, %,d training tokens, output %s%s%n",
            hf.string("name_or_path", hf.source()), model.parameterCount(), split.trainTokens(), out, Ranks.count(group));
        var checkpoints = new Checkpointer(out.resolve("checkpoints"), c.integer("checkpoint.every"),
            c.integer("checkpoint.keep_last"));
        var trainer = new Trainer(model, optimizer, schedule, new LanguageModeling(model), options)
            .setCheckpointer(checkpoints)
            .setConfig(c.values(), RESUME).setResume(c.bool("train.resume"))
            .addLogger(new ConsoleLogger(System.out))
            .addLogger(new CsvLogger(out))
            .addLogger(new TensorBoardLogger(out.resolve("tensorboard")))
            .addLogger(new LossCurvePlot(out.resolve("loss.png")));
        FitResult result = GuardedFit.fit(trainer, checkpoints, data, c);
        if (!group.isMain()) {
            return 0;   // rank 0 writes the model and the report
        }
        ModelSpecs.writeConfig(hf, out.resolve("model"));
        StateFiles.saveModel(model, out.resolve("model"));   // shards beyond 5 GB, as save_pretrained
        if (result.losses().isEmpty()) {
            System.out.printf("no new steps: already at step %d (raise train.steps to train on)%n", result.lastStep());
        } else {
            String eval = Double.isNaN(result.evalLoss()) ? "no eval" : String.format("eval loss %.4f", result.evalLoss());
            System.out.printf("final train loss %.4f, %s (unigram entropy of the text %.4f nats/byte)%n",
                result.losses().get(result.losses().size() - 1), eval, Texts.unigramEntropy(split.openTrain()));
        }
        System.out.println("model written to " + out.resolve("model") + "; TensorBoard: tensorboard --logdir "
            + out.resolve("tensorboard"));
        if (c.integer("generate.max_new_tokens") > 0) {
            var sampling = SamplingOptions.greedy(c.integer("generate.max_new_tokens"))
                .withTemperature(c.real("generate.temperature")).withTopK(c.integer("generate.top_k")).withSeed(c.integer("train.seed"));
            System.out.println("sample:\n" + Generator.generate(model, tokenizer, c.string("generate.prompt"), sampling));
        }
        return 0;
    }
}
