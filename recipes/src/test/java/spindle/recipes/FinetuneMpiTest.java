// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.data.HfConfig;
import spindle.data.Safetensors;
import spindle.layers.StateFiles;
import spindle.layers.models.CausalLms;
import spindle.testing.MpiJob;

/**
 * {@code mpirun -np 2 spindle finetune} against one process with the whole batch, on a tiny base: the same losses,
 * gradient norms, token counts and adapter (float32, within 1e-6), one report printed by rank 0 with the same
 * before/after scores, the same files written, and its adapter-only checkpoint resumed by one process. The ranks
 * end with bit-identical adapters, or finetune fails (it compares them). Every response is 4 bytes long, so each
 * rank's half of a batch has as many response tokens as the other's and the mean of the two ranks' means is the
 * batch's mean; the prompts differ in length, so the ranks pad their rows differently from the whole batch.
 */
class FinetuneMpiTest {
    private static final String TINY = """
        {"model_type": "llama", "vocab_size": 256, "hidden_size": 32, "num_hidden_layers": 1,
         "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": 64, "rms_norm_eps": 1e-5,
         "max_position_embeddings": 128, "tie_word_embeddings": true, "initializer_range": 0.02}""";
    private static final double TOLERANCE = 1e-6;

    @TempDir
    static Path base;

    @TempDir
    Path dir;

    @BeforeAll
    static void makeBase() throws Exception {
        Files.writeString(base.resolve("config.json"), TINY);
        StringBuilder train = new StringBuilder();
        String[] answers = {" ruby", " blue", " gold", " pink", " grey", " teal", " navy", " jade"};
        for (int i = 0; i < answers.length; i++) {
            train.append("{\"prompt\": \"Q").append("?".repeat(1 + 3 * i)).append("\\nA:\", \"response\": \"")
                .append(answers[i]).append("\"}\n");
        }
        Files.writeString(base.resolve("train.jsonl"), train);
        Files.writeString(base.resolve("test.jsonl"), """
            {"prompt": "Q: sky?\\nA:", "response": " blue"}
            {"prompt": "Q: grass, the color of it?\\nA:", "response": " green"}
            {"prompt": "Q: sun?\\nA:", "response": " gold"}
            """);
        StateFiles.save(CausalLms.fromHfConfig(HfConfig.parse(TINY, "tiny"), DataType.FLOAT, 5),
            base.resolve("model.safetensors"));
    }

    private List<String> finetune(Path out, int steps) {
        return List.of("finetune", "model.dir=" + base, "data.train=" + base.resolve("train.jsonl"),
            "data.test=" + base.resolve("test.jsonl"), "data.seq=64", "data.batch=4", "train.warmup=1", "train.lr=0.01",
            "train.replicas=1", "train.eval_every=2", "train.eval_batches=1", "checkpoint.every=2",
            "lora.targets=q_proj,v_proj", "eval.examples=3", "eval.max_new_tokens=4", "eval.show=3",
            "train.steps=" + steps, "output.dir=" + out);
    }

    @Test
    void twoProcessesFinetuneAsOneWithTheWholeBatchRankZeroWritesAndOneProcessResumes() throws Exception {
        var why = MpiJob.unavailable();
        Assumptions.assumeTrue(why.isEmpty(), why.orElse(""));
        Path mpi = dir.resolve("mpi");
        Path single = dir.resolve("single");
        var job = MpiJob.run(2, Map.of("SPINDLE_BUCKET_MB", String.valueOf(600.0 / (1 << 20))), dir.resolve("log"),
            Spindle.class.getName(), finetune(mpi, 2));
        assertEquals(0, job.exitCode(), job.output());
        CommandRun one = CommandRun.of(finetune(single, 2).toArray(String[]::new));
        assertEquals(0, one.exit(), one.toString());

        assertEquals(1, count(job.output(), "spindle finetune: base"), "rank 0 alone reports:\n" + job.output());
        assertTrue(job.output().contains(", 2 processes"), job.output());
        assertEquals(lines(one.out(), "before: "), lines(job.output(), "before: "), "the scores before training");
        assertEquals(lines(one.out(), "  Q"), lines(job.output(), "  Q"), "the answers before -> after");
        assertEquals(exactMatches(one.out()), exactMatches(job.output()), "the exact matches after training");
        assertEquals(files(single), files(mpi), "the files written");
        assertCsvClose(single.resolve("metrics.csv"), mpi.resolve("metrics.csv"), new int[] {1, 4}, 5);
        assertCsvClose(single.resolve("eval.csv"), mpi.resolve("eval.csv"), new int[] {1}, -1);
        assertTensorsClose(single.resolve("adapter/adapter_model.safetensors"),
            mpi.resolve("adapter/adapter_model.safetensors"), "the adapter of 2 processes");

        ByteArrayOutputStream notices = new ByteArrayOutputStream();
        PrintStream err = System.err;
        System.setErr(new PrintStream(notices, true, StandardCharsets.UTF_8));   // where the trainer's notices go
        CommandRun resumedOfMpi;
        try {
            resumedOfMpi = CommandRun.of(finetune(mpi, 3).toArray(String[]::new));
        } finally {
            System.setErr(err);
        }
        CommandRun resumedOfOne = CommandRun.of(finetune(single, 3).toArray(String[]::new));
        assertEquals(0, resumedOfMpi.exit(), resumedOfMpi.toString());
        assertEquals(0, resumedOfOne.exit(), resumedOfOne.toString());
        assertTrue(notices.toString(StandardCharsets.UTF_8).contains("resuming from " + mpi.resolve("checkpoints")),
            notices.toString(StandardCharsets.UTF_8));
        assertTensorsClose(single.resolve("adapter/adapter_model.safetensors"),
            mpi.resolve("adapter/adapter_model.safetensors"), "one process resuming the 2 processes' checkpoint");
    }

    private static long count(String text, String part) {
        return text.lines().filter(l -> l.contains(part)).count();
    }

    private static List<String> lines(String text, String prefix) {
        return text.lines().filter(l -> l.startsWith(prefix)).toList();
    }

    /** The "after:" line from "exact match" on (its loss is compared through the metrics). */
    private static String exactMatches(String text) {
        String after = lines(text, "after:  ").stream().findFirst().orElseThrow(() -> new AssertionError(text));
        return after.substring(after.indexOf("exact match"));
    }

    private static List<String> files(Path out) throws Exception {
        try (Stream<Path> all = Files.walk(out)) {
            return all.map(p -> out.relativize(p).toString()).filter(p -> !p.startsWith("tensorboard/")).sorted().toList();
        }
    }

    /** Rows of two CSV files: {@code close} columns within the tolerance, column {@code exact} equal (-1: none). */
    private static void assertCsvClose(Path expected, Path actual, int[] close, int exact) throws Exception {
        List<String> e = Files.readAllLines(expected);
        List<String> a = Files.readAllLines(actual);
        assertEquals(e.size(), a.size(), actual + " rows");
        assertTrue(e.size() > 1, expected + " has no rows");
        for (int row = 1; row < e.size(); row++) {
            String[] er = e.get(row).split(",");
            String[] ar = a.get(row).split(",");
            for (int col : close) {
                assertClose(Double.parseDouble(er[col]), Double.parseDouble(ar[col]), actual + " row " + row + " col " + col);
            }
            if (exact >= 0) {
                assertEquals(er[exact], ar[exact], actual + " row " + row + " col " + exact);
            }
        }
    }

    private static void assertTensorsClose(Path expected, Path actual, String what) throws Exception {
        Map<String, INDArray> e = Safetensors.read(expected);
        Map<String, INDArray> a = Safetensors.read(actual);
        assertEquals(e.keySet(), a.keySet(), what);
        List<String> compared = new ArrayList<>();
        for (String key : e.keySet()) {
            double[] ev = e.get(key).ravel().toDoubleVector();
            double[] av = a.get(key).ravel().toDoubleVector();
            for (int i = 0; i < ev.length; i++) {
                assertClose(ev[i], av[i], what + ": " + key + "[" + i + "]");
            }
            compared.add(key);
        }
        assertEquals(4, compared.size(), what + ": " + compared);
    }

    private static void assertClose(double expected, double actual, String what) {
        if (!(Math.abs(expected - actual) <= TOLERANCE * Math.max(1, Math.abs(expected)))) {
            fail(what + " is " + actual + " but one process has " + expected);
        }
    }
}
