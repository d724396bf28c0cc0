// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import spindle.optim.LrSchedule;

/**
 * Rerunning pretrain on its output folder: a run with nothing left to do says so (no "NaN" loss), a new lr
 * is reported and trained with, a new seed or model shape is one error naming the key or the checkpoint file,
 * and train.resume=false starts over.
 */
class PretrainResumeTest {
    private static final String TINY = """
        {"model_type": "llama", "vocab_size": 256, "hidden_size": 32, "num_hidden_layers": 1,
         "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": %d, "rms_norm_eps": 1e-5,
         "max_position_embeddings": 64, "tie_word_embeddings": true}""";

    @TempDir
    Path dir;

    /** Runs pretrain with small settings plus {@code extra}; asserts the exit code; returns stdout, stderr and errors. */
    private String pretrain(int expectedExit, String... extra) {
        List<String> args = new ArrayList<>(List.of("pretrain", "model.config=" + dir.resolve("config.json"),
            "data.seq=16", "data.batch=2", "train.warmup=1", "train.replicas=1", "train.eval_every=0",
            "checkpoint.every=1", "generate.max_new_tokens=0", "output.dir=" + dir.resolve("run")));
        args.addAll(List.of(extra));
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        StringWriter errors = new StringWriter();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            var cli = Spindle.commandLine();
            cli.setErr(new PrintWriter(errors, true));
            int exit = cli.execute(args.toArray(String[]::new));
            assertEquals(expectedExit, exit, captured.toString(StandardCharsets.UTF_8) + errors);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        return captured.toString(StandardCharsets.UTF_8) + errors;
    }

    private void writeModelConfig(int intermediate) throws Exception {
        Files.writeString(dir.resolve("config.json"), String.format(TINY, intermediate));
    }

    /** The lr column of metrics.csv at {@code step} (the last row for it). */
    private double loggedLr(long step) throws Exception {
        double lr = Double.NaN;
        for (String line : Files.readAllLines(dir.resolve("run").resolve("metrics.csv"))) {
            String[] f = line.split(",");
            if (f[0].equals(Long.toString(step))) {
                lr = Double.parseDouble(f[3]);
            }
        }
        return lr;
    }

    @Test
    void rerunsResumeWithNewSchedulesRefuseNewSeedsAndShapesAndCanStartOver() throws Exception {
        writeModelConfig(64);
        pretrain(0, "train.steps=2");
        String again = pretrain(0, "train.steps=2");
        assertTrue(again.contains("no new steps: already at step 2 (raise train.steps to train on)"), again);
        assertFalse(again.contains("NaN"), again);

        String lower = pretrain(0, "train.steps=4", "train.lr=0.001");
        assertTrue(lower.contains("train.lr: 0.003 -> 0.001 (changed since the checkpoint; the new value is used)"), lower);
        assertEquals(0.001 * LrSchedule.warmupCosine(1, 4, 0.1).factor(2), loggedLr(3), 1e-12);

        String seed = pretrain(2, "train.steps=6", "train.lr=0.001", "train.seed=1");
        assertTrue(seed.contains("spindle pretrain: train.seed cannot change when a run resumes: "
            + dir.resolve("run/checkpoints/step-000004") + " was written with train.seed=0, the configuration now has"
            + " train.seed=1. Set it back, or start from step 0 with train.resume=false"), seed);

        writeModelConfig(48);
        String shape = pretrain(2, "train.steps=6", "train.lr=0.001");
        assertTrue(shape.contains("spindle pretrain: " + dir.resolve("run/checkpoints/step-000004/model.safetensors")
            + ": state dict does not match"), shape);
        assertTrue(shape.contains("model.layers.0.mlp.up_proj.weight: module [48, 32], file [64, 32]"), shape);

        String fresh = pretrain(0, "train.steps=1", "train.seed=1", "train.resume=false");
        assertTrue(fresh.contains("starting at step 0: deleted the checkpoints in " + dir.resolve("run/checkpoints")),
            fresh);
        assertTrue(fresh.contains("final train loss"), fresh);
    }
}
