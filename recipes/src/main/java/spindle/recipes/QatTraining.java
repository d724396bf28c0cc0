// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.data.HfConfig;
import spindle.data.TextCorpus;
import spindle.layers.StateFiles;
import spindle.layers.lora.AdaptedModel;
import spindle.layers.lora.LoraConfig;
import spindle.layers.lora.TargetModules;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;
import spindle.layers.qat.QatConfig;
import spindle.layers.qat.QatLoraModels;
import spindle.layers.qat.QatModels;
import spindle.optim.Adam;
import spindle.optim.AdamOptions;
import spindle.optim.LrSchedule;
import spindle.optim.ParamGroups;
import spindle.recipes.config.RecipeConfig;
import spindle.trainers.ConsoleLogger;
import spindle.trainers.FakeQuantAfterSteps;
import spindle.trainers.LanguageModeling;
import spindle.trainers.Trainer;
import spindle.trainers.TrainerOptions;

/**
 * The training of {@code spindle qat}: the pretrained model prepared for QAT (every qualifying linear
 * fake-quantized) or, with {@code qat.lora}, for QAT + LoRA (frozen fake-quantized base, float adapters), trained
 * with the library's Trainer and objective; fake quantization starts after {@code qat.fake_quant_after_n_steps}.
 */
final class QatTraining {
    private QatTraining() {}

    /** The trained model as a plain causal LM (a QAT-LoRA model with its adapters merged), ready to convert. */
    static CausalLm train(RecipeConfig c, Path modelDir, HfConfig hf, QatConfig qat, TextCorpus.Split split,
                          long floatSteps) throws IOException {
        AdaptedModel adapted = null;
        CausalLm model;
        List<String> skipped;
        if (c.bool("qat.lora")) {
            var prepared = QatLoraModels.fromPretrained(modelDir, DataType.FLOAT, qat, lora(c), c.integer("train.seed"));
            adapted = prepared.adapted();
            model = adapted.model();
            skipped = prepared.skipped();
            System.out.println("QAT + LoRA: " + adapted.trainableParamsLine());
        } else {
            var prepared = QatModels.fromHfConfig(hf, DataType.FLOAT, qat);
            StateFiles.load(prepared.model(), modelDir.resolve("model.safetensors"), true);
            model = prepared.model();
            skipped = prepared.skipped();
            System.out.printf("QAT: %d linears fake-quantized%n", prepared.quantized().size());
        }
        if (!skipped.isEmpty()) {
            System.out.println("left float: " + String.join(", ", skipped));
        }
        fit(c, model, hf, split, floatSteps);
        if (adapted == null) {
            return model;
        }
        CausalLm merged = CausalLms.fromHfConfig(hf, DataType.FLOAT, 0);
        merged.loadStateDict(adapted.mergedState(), true);   // merge, then convert
        return merged;
    }

    private static void fit(RecipeConfig c, CausalLm model, HfConfig hf, TextCorpus.Split split, long floatSteps)
            throws IOException {
        var optimizer = new Adam(ParamGroups.decayMatricesOnly(model.trainableParameters(), c.real("train.weight_decay")),
            AdamOptions.adamW().withLr(c.real("train.lr")));
        int steps = c.integer("train.steps");
        var options = TrainerOptions.defaults().withMaxSteps(steps).withMaxGradNorm(c.real("train.grad_clip"))
            .withEval(c.integer("train.eval_every"), c.integer("eval.batches")).withReplicas(c.integer("train.replicas"));
        var schedule = LrSchedule.warmupCosine(c.integer("train.warmup"), steps, c.real("train.min_lr_ratio"));
        var data = TextLoaders.of(c, split, hf);
        new Trainer(model, optimizer, schedule, new LanguageModeling(model), options)
            .addCallback(new FakeQuantAfterSteps(floatSteps))
            .addLogger(new ConsoleLogger(System.err))
            .fit(data.train(), data.val());
    }

    /** lora.r, lora.alpha and lora.targets ("all-linear" or module names). */
    private static LoraConfig lora(RecipeConfig c) {
        List<String> targets = c.strings("lora.targets");
        TargetModules modules = targets.equals(List.of(TargetModules.ALL_LINEAR)) ? TargetModules.allLinear()
            : TargetModules.names(targets);
        return LoraConfig.of(c.integer("lora.r"), c.real("lora.alpha"), modules);
    }
}
