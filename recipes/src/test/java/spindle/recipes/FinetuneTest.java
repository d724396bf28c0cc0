// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.data.HfConfig;
import spindle.data.Safetensors;
import spindle.layers.StateFiles;
import spindle.layers.models.CausalLms;

/**
 * {@code spindle finetune} run small on a base it makes in a moment (a randomly initialised one-layer Llama): the
 * report before and after, adapter-only checkpoints, an exact resume, and the error for a missing base.
 */
class FinetuneTest {
    private static final String TINY = """
        {"model_type": "llama", "vocab_size": 256, "hidden_size": 32, "num_hidden_layers": 1,
         "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": 64, "rms_norm_eps": 1e-5,
         "max_position_embeddings": 128, "tie_word_embeddings": true, "initializer_range": 0.02}""";

    @TempDir
    static Path base;

    @TempDir
    Path dir;

    @BeforeAll
    static void makeBase() throws Exception {
        Files.writeString(base.resolve("config.json"), TINY);
        Files.writeString(base.resolve("test.jsonl"), """
            {"prompt": "Question: What is the capital of Burundi?\\nAnswer:", "response": " Bujumbura"}
            {"prompt": "Question: What is the opposite of 'up'?\\nAnswer:", "response": " down", "answers": ["down"]}
            {"prompt": "Question: What is the chemical symbol of Oxygen?\\nAnswer:", "response": " O"}
            """);
        StateFiles.save(CausalLms.fromHfConfig(HfConfig.parse(TINY, "tiny"), DataType.FLOAT, 3),
            base.resolve("model.safetensors"));
    }

    /** finetune with small settings, output under {@code dir/name}, plus {@code extra}. */
    private CommandRun finetune(String name, String... extra) {
        List<String> args = new ArrayList<>(List.of("finetune", "model.dir=" + base,
            "data.test=" + base.resolve("test.jsonl"), "data.seq=96", "data.batch=4", "train.warmup=1",
            "train.lr=0.01", "train.replicas=1", "train.eval_every=0", "checkpoint.every=2",
            "lora.targets=q_proj,v_proj", "eval.examples=3", "eval.max_new_tokens=4", "eval.show=2",
            "output.dir=" + dir.resolve(name)));
        args.addAll(List.of(extra));
        return CommandRun.of(args.toArray(String[]::new));
    }

    private List<String> lossColumn(String name) throws Exception {
        return Files.readAllLines(dir.resolve(name).resolve("metrics.csv")).stream().skip(1)
            .map(line -> line.split(",")[0] + "," + line.split(",")[1]).toList();
    }

    private Path lastCheckpoint(String name) throws Exception {
        try (Stream<Path> s = Files.list(dir.resolve(name).resolve("checkpoints"))) {
            return s.filter(p -> p.getFileName().toString().startsWith("step-")).sorted().reduce((a, b) -> b).orElseThrow();
        }
    }

    @Test
    void reportsBeforeAndAfterAndCheckpointsTheAdapterOnly() throws Exception {
        CommandRun run = finetune("a", "train.steps=4");
        assertEquals(0, run.exit(), run.out() + run.err());
        assertTrue(run.out().contains("trainable params: 896 || all params: 18,400 || trainable%: 4.8696"), run.out());
        assertTrue(run.out().contains("before: held-out response loss "), run.out());
        assertTrue(run.out().contains("after:  held-out response loss "), run.out());
        assertTrue(run.out().contains("exact match: train 0/3 (0.0%), held-out "), run.out());
        assertTrue(run.out().contains("Question: What is the capital of"), run.out());
        assertEquals(4, lossColumn("a").size());
        Path last = lastCheckpoint("a");
        assertFalse(Files.exists(last.resolve("model.safetensors")), "the frozen base is not checkpointed");
        List<String> keys = List.copyOf(Safetensors.read(last.resolve("trainable.safetensors")).keySet());
        assertEquals(List.of("model.layers.0.self_attn.q_proj.lora_A.weight", "model.layers.0.self_attn.q_proj.lora_B.weight",
            "model.layers.0.self_attn.v_proj.lora_A.weight", "model.layers.0.self_attn.v_proj.lora_B.weight"), keys);
    }

    @Test
    void theAdapterMergesIntoAModelThatGenerateLoadsAndGenerateAppliesItUnmerged() throws Exception {
        CommandRun run = finetune("m", "train.steps=2", "--merge");
        assertEquals(0, run.exit(), run.out() + run.err());
        Path out = dir.resolve("m");
        assertTrue(Files.isRegularFile(out.resolve("adapter/adapter_config.json")), run.out());
        assertTrue(Files.isRegularFile(out.resolve("adapter/adapter_model.safetensors")), run.out());
        assertTrue(run.out().contains("merged model written to " + out.resolve("merged")), run.out());

        CommandRun merge = CommandRun.of("merge", "--model-dir", base.toString(), "--adapter",
            out.resolve("adapter").toString(), "--out", dir.resolve("merged-later").toString());
        assertEquals(0, merge.exit(), merge.toString());
        assertArrayEquals(Files.readAllBytes(out.resolve("merged/model.safetensors")),
            Files.readAllBytes(dir.resolve("merged-later/model.safetensors")), "merge == finetune --merge");

        String prompt = "Question: What is the capital of Peru?\nAnswer:";
        CommandRun merged = CommandRun.of("generate", "--model-dir", out.resolve("merged").toString(), "--prompt", prompt,
            "--temperature", "0", "--max-new-tokens", "6");
        CommandRun adapter = CommandRun.of("generate", "--model-dir", base.toString(), "--adapter",
            out.resolve("adapter").toString(), "--prompt", prompt, "--temperature", "0", "--max-new-tokens", "6");
        assertEquals(0, merged.exit(), merged.toString());
        assertEquals(0, adapter.exit(), adapter.toString());
        assertTrue(merged.out().startsWith(prompt) && adapter.out().startsWith(prompt), merged.out() + adapter.out());
    }

    @Test
    void halfTheStepsThenAResumeEqualsTheStraightRunBitForBit() throws Exception {
        assertResumeIsExact("", new String[0]);
    }

    /** Dropout masks drawn on two replica threads: the resumed run must draw the masks the straight run drew. */
    @Test
    void withDropoutOnTwoReplicasAResumeEqualsTheStraightRunBitForBit() throws Exception {
        assertResumeIsExact("dropout-", new String[] {"lora.dropout=0.2", "train.replicas=2"});
    }

    private void assertResumeIsExact(String prefix, String[] settings) throws Exception {
        assertEquals(0, finetune(prefix + "straight", with(settings, "train.steps=4")).exit());
        CommandRun half = finetune(prefix + "resumed", with(settings, "train.steps=2"));
        assertEquals(0, half.exit(), half.err());
        CommandRun rest = finetune(prefix + "resumed", with(settings, "train.steps=4"));
        assertEquals(0, rest.exit(), rest.err());
        assertEquals(lossColumn(prefix + "straight"), lossColumn(prefix + "resumed"));
        assertArrayEquals(Files.readAllBytes(lastCheckpoint(prefix + "straight").resolve("trainable.safetensors")),
            Files.readAllBytes(lastCheckpoint(prefix + "resumed").resolve("trainable.safetensors")));
        assertArrayEquals(Files.readAllBytes(dir.resolve(prefix + "straight/adapter/adapter_model.safetensors")),
            Files.readAllBytes(dir.resolve(prefix + "resumed/adapter/adapter_model.safetensors")), "adapter bytes");
    }

    private static String[] with(String[] settings, String more) {
        String[] all = java.util.Arrays.copyOf(settings, settings.length + 1);
        all[settings.length] = more;
        return all;
    }

    @Test
    void aMissingBaseSaysHowToMakeIt() {
        CommandRun run = CommandRun.of("finetune", "model.dir=" + dir.resolve("nothing"), "output.dir=" + dir.resolve("out"));
        assertEquals(2, run.exit(), run.toString());
        assertTrue(run.oneLineError(), run.err());
        assertTrue(run.err().contains("spindle finetune: model.dir " + dir.resolve("nothing") + " is not a model directory"
            + " (config.json and model.safetensors): make the default base with `./spindle pretrain`"), run.err());
        assertFalse(Files.exists(dir.resolve("out")), "nothing is written");
    }
}
