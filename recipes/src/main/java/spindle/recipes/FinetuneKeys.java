// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static spindle.recipes.config.ConfigKey.Type.BOOL;
import static spindle.recipes.config.ConfigKey.Type.DOUBLE;
import static spindle.recipes.config.ConfigKey.Type.INT;
import static spindle.recipes.config.ConfigKey.Type.STRING;
import static spindle.recipes.config.ConfigKey.Type.STRING_LIST;

import java.util.List;
import spindle.recipes.config.ConfigKey;
import spindle.trainers.ResumeRules;

/** The config keys of {@code spindle finetune} with their defaults, and which of them a resumed run may not change. */
final class FinetuneKeys {
    static final List<ConfigKey> ALL = List.of(
        ConfigKey.of("model.dir", STRING, "runs/pretrain/model", "base model directory (config.json + model.safetensors)"),
        ConfigKey.of("model.dtype", STRING, "float32", "storage of the frozen base: float32, or bfloat16 (half the"
            + " memory; computes in float32, adapters stay float32; a merge rounds the merged weights to bf16)"),
        ConfigKey.of("data.train", STRING, FinetuneData.QUIZ, "'quiz' (embedded questions) or a JSONL file of pairs"),
        ConfigKey.of("data.test", STRING, FinetuneData.QUIZ, "'quiz' (embedded held-out questions) or a JSONL file"),
        ConfigKey.of("data.prompt_field", STRING, "prompt", "JSON field of the prompt"),
        ConfigKey.of("data.response_field", STRING, "response", "JSON field of the response"),
        ConfigKey.of("data.seq", INT, 128, "longest example in tokens (longer responses are cut)").atLeast(2),
        ConfigKey.of("data.batch", INT, 16, "examples per batch (padded to the longest)").atLeast(1),
        ConfigKey.of("lora.targets", STRING_LIST, List.of("all-linear"),
            "linears that get an adapter: names (PEFT's target_modules, e.g. q_proj,v_proj) or all-linear"),
        ConfigKey.of("lora.r", INT, 8, "adapter rank").atLeast(1),
        ConfigKey.of("lora.alpha", DOUBLE, 16.0, "lora_alpha: the update is scaled by alpha / r"),
        ConfigKey.of("lora.dropout", DOUBLE, 0.0, "lora_dropout on the adapter's input").atLeast(0).below(1),
        ConfigKey.of("lora.use_rslora", BOOL, false, "scale alpha / sqrt(r) instead of alpha / r"),
        ConfigKey.of("lora.use_dora", BOOL, false, "DoRA: a trained magnitude per output row"),
        ConfigKey.of("train.steps", INT, 150, "optimizer steps").atLeast(1),
        ConfigKey.of("train.lr", DOUBLE, 5e-3, "peak learning rate").above(0),
        ConfigKey.of("train.min_lr_ratio", DOUBLE, 0.1, "cosine floor as a share of lr").atLeast(0).atMost(1),
        ConfigKey.of("train.warmup", INT, 10, "linear warmup steps").atLeast(0),
        ConfigKey.of("train.weight_decay", DOUBLE, 0.0, "AdamW decay of the adapter matrices").atLeast(0),
        ConfigKey.of("train.grad_clip", DOUBLE, 1.0, "global gradient-norm clip (0 = off)").atLeast(0),
        ConfigKey.of("train.grad_accum", INT, 1, "micro-batches per step").atLeast(1),
        ConfigKey.of("train.replicas", INT, 2, "data-parallel threads, each on batch/replicas rows (1 = off)").atLeast(1),
        ConfigKey.of("train.seed", INT, 0, "seed of the adapters' initialisation and the data order"),
        ConfigKey.of("train.resume", BOOL, true, "continue from the last checkpoint; false deletes them, starts at 0"),
        ConfigKey.of("train.eval_every", INT, 100, "steps between held-out evals (0 = never)").atLeast(0),
        ConfigKey.of("train.eval_batches", INT, 4, "batches per held-out eval").atLeast(1),
        ConfigKey.of("train.detect_anomaly", BOOL, false, "check every op for NaN/Inf, to name the one that made it (slower)"),
        ConfigKey.of("checkpoint.every", INT, 100, "steps between checkpoints (0 = only at the end)").atLeast(0),
        ConfigKey.of("checkpoint.keep_last", INT, 2, "checkpoints kept (0 = all)").atLeast(0),
        ConfigKey.of("eval.examples", INT, 40, "pairs of each split answered for exact match (0 = all)").atLeast(0),
        ConfigKey.of("eval.max_new_tokens", INT, 24, "longest greedy answer in tokens").atLeast(1),
        ConfigKey.of("eval.show", INT, 8, "held-out answers printed before -> after").atLeast(0),
        ConfigKey.of("output.dir", STRING, "runs/finetune", "where everything is written"));

    /** What a resumed run continues: the same base, data, adapters, seed and step; lr, steps and cadences may change. */
    static final ResumeRules RESUME = ResumeRules.fixed("model.", "data.", "lora.", "train.seed", "train.replicas",
        "train.grad_accum").withFreshStartKey("train.resume");

    private FinetuneKeys() {}
}
