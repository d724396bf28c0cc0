// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static spindle.recipes.config.ConfigKey.Type.BOOL;
import static spindle.recipes.config.ConfigKey.Type.DOUBLE;
import static spindle.recipes.config.ConfigKey.Type.INT;
import static spindle.recipes.config.ConfigKey.Type.STRING;
import static spindle.recipes.config.ConfigKey.Type.STRING_LIST;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import spindle.data.HfConfig;
import spindle.data.TextCorpus;
import spindle.data.tokenizer.ByteTokenizer;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;
import spindle.layers.qat.QatConfig;
import spindle.layers.qat.QatScheme;
import spindle.recipes.config.ConfigKey;
import spindle.recipes.config.RecipeConfig;
import spindle.trainers.OutputLock;

/**
 * {@code spindle qat}: quantization-aware training of a pretrained model, and what it buys: the held-out loss
 * of the float model, of post-training quantization (convert without QAT) and of QAT then convert, and the share
 * of PTQ's loss increase that QAT recovered.
 */
@Command(name = "qat", mixinStandardHelpOptions = true,
    description = {"Quantization-aware training (torchao's fake quantization) of a pretrained model on a text, byte-level.",
        "%nLoads model.dir (default: what `spindle pretrain` writes), converts it without training (PTQ, OUTPUT/ptq),"
            + " trains it with fake-quantized linears (qat.lora=true: QAT + LoRA, adapters merged afterwards) and"
            + " converts the result (OUTPUT/qat). A float control trains the same steps without fake quantization"
            + " and is converted too (OUTPUT/float-control-ptq), since more training lowers the loss by itself. Prints"
            + " the held-out loss of each model and the share of the PTQ degradation that QAT recovered:"
            + " (PTQ - QAT) / (PTQ - float), of the control."})
final class Qat implements Callable<Integer>, ConfiguredRecipe {
    static final List<ConfigKey> KEYS = List.of(
        ConfigKey.of("model.dir", STRING, "runs/pretrain/model", "pretrained model directory (config.json, model.safetensors)"),
        ConfigKey.of("data.text", STRING, "moby-dick", "'moby-dick' (embedded) or a UTF-8 text file"),
        ConfigKey.of("data.seq", INT, 128, "tokens per sequence").atLeast(1),
        ConfigKey.of("data.batch", INT, 16, "sequences per batch").atLeast(1),
        ConfigKey.of("data.val_fraction", DOUBLE, 0.05, "held-out share; as in pretrain, so it is unseen text").above(0).below(1),
        ConfigKey.of("qat.scheme", STRING, "8da4w", "8da4w, int4wo or int8wo"),
        ConfigKey.of("qat.group_size", INT, 32, "inputs per weight group (8da4w, int4wo)").atLeast(1),
        ConfigKey.of("qat.fake_quant_after_n_steps", INT, 0, "train this many steps in float first").atLeast(0),
        ConfigKey.of("qat.lora", BOOL, false, "QAT + LoRA: frozen fake-quantized base, float adapters"),
        ConfigKey.of("lora.r", INT, 8, "adapter rank (qat.lora)").atLeast(1),
        ConfigKey.of("lora.alpha", DOUBLE, 16.0, "lora_alpha (qat.lora)").above(0),
        ConfigKey.of("lora.targets", STRING_LIST, List.of("all-linear"), "'all-linear' or module names (qat.lora)"),
        ConfigKey.of("train.steps", INT, 100, "optimizer steps").atLeast(1),
        ConfigKey.of("train.lr", DOUBLE, 3e-4, "peak learning rate").above(0),
        ConfigKey.of("train.min_lr_ratio", DOUBLE, 0.1, "cosine floor as a share of lr").atLeast(0).atMost(1),
        ConfigKey.of("train.warmup", INT, 10, "linear warmup steps").atLeast(0),
        ConfigKey.of("train.weight_decay", DOUBLE, 0.0, "AdamW decay of matrices").atLeast(0),
        ConfigKey.of("train.grad_clip", DOUBLE, 1.0, "global gradient-norm clip (0 = off)").atLeast(0),
        ConfigKey.of("train.replicas", INT, 2, "data-parallel threads (1 = off)").atLeast(1),
        ConfigKey.of("train.seed", INT, 0, "seed of data order and adapters"),
        ConfigKey.of("train.eval_every", INT, 0, "steps between held-out evals of the fake-quantized model (0 = never)").atLeast(0),
        ConfigKey.of("eval.batches", INT, 8, "held-out batches each loss is averaged over").atLeast(1),
        ConfigKey.of("compare.float_finetune", BOOL, true, "also train the same steps without fake quantization"
            + " (a control) and measure recovery against its PTQ, not QAT's gain from more training"),
        ConfigKey.of("output.dir", STRING, "runs/qat", "where the data and converted models are written"));

    @Mixin
    private RecipeArgs args = new RecipeArgs();

    @Override
    public List<ConfigKey> keys() {
        return KEYS;
    }

    @Override
    public Integer call() throws Exception {
        RecipeConfig c = args.load(KEYS);
        Path modelDir = Path.of(c.string("model.dir"));
        if (!Files.isRegularFile(modelDir.resolve("model.safetensors")) || !Files.isRegularFile(modelDir.resolve("config.json"))) {
            throw new IllegalArgumentException("model.dir " + modelDir + " holds no pretrained model (config.json and"
                + " model.safetensors): run `./spindle pretrain` first (it writes runs/pretrain/model), or set"
                + " model.dir=DIR to another model directory");
        }
        Path out = Path.of(c.string("output.dir"));
        try (OutputLock lock = OutputLock.acquire(out, System.err::println)) {
            return run(c, modelDir, out);
        }
    }

    private Integer run(RecipeConfig c, Path modelDir, Path out) throws Exception {
        QatConfig qat = new QatConfig(QatScheme.parse(c.string("qat.scheme")), c.integer("qat.group_size"));
        HfConfig hf = HfConfig.read(modelDir.resolve("config.json"));
        var split = TextCorpus.prepare(Texts.source(c.string("data.text")), Texts.read(c.string("data.text")),
            new ByteTokenizer(), out.resolve("data"), c.real("data.val_fraction"));
        var heldOut = new HeldOutLoss(split.openVal(), c.integer("data.seq"), c.integer("data.batch"), c.integer("eval.batches"));
        System.out.printf("spindle qat: %s from %s, %s group_size %d, %d steps%s%n", hf.string("name_or_path", "model"),
            modelDir, qat.scheme().id(), qat.groupSize(), c.integer("train.steps"), c.bool("qat.lora") ? ", QAT + LoRA" : "");
        CausalLm floatModel = CausalLms.fromPretrained(modelDir, DataType.FLOAT);
        double floatLoss = heldOut.of(floatModel);
        double ptqLoss = heldOut.of(Quantized.convert(floatModel, hf, qat, out.resolve("ptq")));
        Double tunedFloat = null;
        Double tunedPtq = null;
        if (c.bool("compare.float_finetune")) {
            System.out.println("float control: the same steps without fake quantization");
            CausalLm tuned = QatTraining.train(c, modelDir, hf, qat, split, c.integer("train.steps"));
            tunedFloat = heldOut.of(tuned);
            tunedPtq = heldOut.of(Quantized.convert(tuned, hf, qat, out.resolve("float-control-ptq")));
        }
        System.out.println("QAT" + (c.bool("qat.lora") ? " + LoRA" : ""));
        CausalLm trained = QatTraining.train(c, modelDir, hf, qat, split, c.integer("qat.fake_quant_after_n_steps"));
        double qatLoss = heldOut.of(Quantized.convert(trained, hf, qat, out.resolve("qat")));
        System.out.println(new QatReport(floatLoss, ptqLoss, qatLoss, tunedFloat, tunedPtq, heldOut.batches()).text());
        return 0;
    }
}
