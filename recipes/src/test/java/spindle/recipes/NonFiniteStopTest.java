// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.autograd.GradMode;
import spindle.layers.StateFiles;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;

/** A NaN stop of pretrain and a NaN model given to eval: one line naming what to do, a non-zero exit. */
class NonFiniteStopTest {
    @TempDir
    Path dir;

    /** An lr of 1e30 makes the weights huge after step 1, so step 2's gradient norm is not finite. */
    private CommandRun divergingPretrain(Path out, String... more) {
        String[] base = {"pretrain", "model.config=tiny-llama", "train.lr=1e30", "train.warmup=0", "train.steps=4",
            "data.seq=16", "data.batch=4", "checkpoint.every=1", "train.eval_every=0", "generate.max_new_tokens=0",
            "output.dir=" + out};
        String[] args = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, args, base.length, more.length);
        return CommandRun.of(args);
    }

    @Test
    void aNanStopIsOneLineWithTheStepTheLastCheckpointAndHowToGoOn() {
        Path out = dir.resolve("run");
        CommandRun run = divergingPretrain(out);
        assertEquals(1, run.exit(), run.toString());
        assertTrue(run.oneLineError(), run.toString());
        assertTrue(run.err().startsWith("spindle pretrain: training stopped at step 2: the "), run.toString());
        assertTrue(run.err().contains("; the last good checkpoint is step 1 in "
            + out.resolve("checkpoints").resolve("step-000001") + ": rerun with a lower train.lr (it is 1.0E30) to resume"
            + " from it, or with train.detect_anomaly=true to name the op that produced it"), run.toString());
    }

    @Test
    void detectAnomalyNamesTheOpOnTheDefaultTwoReplicas() {
        CommandRun run = divergingPretrain(dir.resolve("run"), "train.detect_anomaly=true");
        assertEquals(1, run.exit(), run.toString());
        assertTrue(run.oneLineError(), run.toString());
        assertTrue(run.err().contains(", first produced by op '"), run.toString());
        assertFalse(run.err().contains("detect_anomaly=true"), "it is on already: " + run);
    }

    @Test
    void evalOfAModelWithNanWeightsFailsNamingTheModelDir() throws Exception {
        Path modelDir = dir.resolve("model");
        var hf = ModelSpecs.resolve("tiny-llama");
        CausalLm model = CausalLms.fromHfConfig(hf, DataType.FLOAT, 0);
        try (GradMode.Scope off = GradMode.disable()) {
            model.namedParameters().get("model.norm.weight").mutate(w -> w.assign(Float.NaN));
        }
        ModelSpecs.writeConfig(hf, modelDir);
        StateFiles.save(model, modelDir.resolve("model.safetensors"));
        CommandRun run = CommandRun.of("eval", "--model-dir", modelDir.toString(), "--seq", "16", "--batches", "1");
        assertEquals(2, run.exit(), run.toString());
        assertTrue(run.oneLineError(), run.toString());
        assertTrue(run.err().contains("--model-dir " + modelDir + ": the loss on the val split is NaN: 1 of its "), run.toString());
        assertTrue(run.err().contains("weight tensors hold NaN or Inf (first model.norm.weight)"), run.toString());
        assertFalse(run.out().contains("\"loss\""), "no JSON line for a NaN: " + run.out());
    }
}
