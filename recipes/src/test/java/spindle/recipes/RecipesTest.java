// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** pretrain → generate → eval end to end on a few steps, and a bad config key reported in one line. */
class RecipesTest {
    @TempDir
    Path dir;

    @Test
    void pretrainWritesEverythingAndGenerateAndEvalReadTheModel() throws Exception {
        Path out = dir.resolve("run");
        String printed = run(0, "pretrain", "train.steps=4", "train.warmup=1", "data.seq=32", "data.batch=4",
            "train.eval_every=2", "train.eval_batches=1", "checkpoint.every=2", "output.dir=" + out,
            "generate.max_new_tokens=8");
        assertTrue(printed.contains("sample:"), printed);
        for (String f : new String[] {"metrics.csv", "eval.csv", "loss.png", "model/config.json",
            "model/model.safetensors", "checkpoints/latest", "checkpoints/step-000004"}) {
            assertTrue(Files.exists(out.resolve(f)), f + " missing after pretrain");
        }
        try (Stream<Path> events = Files.list(out.resolve("tensorboard"))) {
            assertTrue(events.anyMatch(p -> p.getFileName().toString().startsWith("events.out.tfevents.")));
        }
        String text = run(0, "generate", "--model-dir", out.resolve("model").toString(), "--prompt", "Call me",
            "--max-new-tokens", "12", "--temperature", "0");
        assertTrue(text.startsWith("Call me"), text);
        String eval = run(0, "eval", "--model-dir", out.resolve("model").toString(), "--seq", "32", "--batches", "2");
        assertTrue(eval.contains("\"perplexity\""), eval);
    }

    @Test
    void aMisspeltKeyIsOneLineNamingIt() throws Exception {
        StringWriter err = new StringWriter();
        CommandLine cli = Spindle.commandLine();
        cli.setErr(new PrintWriter(err));
        assertEquals(2, cli.execute("pretrain", "train.step=5"));
        assertTrue(err.toString().contains("unknown config key 'train.step'")
            && err.toString().contains("did you mean 'train.steps'"), err.toString());
    }

    @Test
    void fewerStepsThanWarmupIsLrSchedulesError() throws Exception {
        StringWriter err = new StringWriter();
        CommandLine cli = Spindle.commandLine();
        cli.setErr(new PrintWriter(err));
        assertEquals(2, cli.execute("pretrain", "train.steps=10", "output.dir=" + Files.createTempDirectory("spindle-warmup")));
        assertTrue(err.toString().contains("totalSteps (10) must be >= warmupSteps (30)"), err.toString());
    }

    @Test
    void benchRefusesZeroRoundsAndAMissingTorchRef() throws Exception {
        Path config = Files.createTempDirectory("spindle-bench").resolve("tiny.json");
        Files.writeString(config, "{\"model_type\": \"llama\"}");
        StringWriter err = new StringWriter();
        CommandLine cli = Spindle.commandLine();
        cli.setErr(new PrintWriter(err));
        assertEquals(2, cli.execute("bench", "--config", config.toString(), "--rounds", "0"));
        assertTrue(err.toString().contains("--rounds must be at least 1 but is 0"), err.toString());
        assertEquals(2, cli.execute("bench", "--config", config.toString(), "--compare"));
        assertTrue(err.toString().contains("--compare: no torch_ref.py at "), err.toString());
    }

    @Test
    void everyHelpTextFormats() {
        // picocli formats option descriptions with String.format: a bare % makes it warn and print the raw text
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            CommandLine cli = Spindle.commandLine();
            cli.getUsageMessage();
            cli.getSubcommands().values().forEach(CommandLine::getUsageMessage);
        } finally {
            System.setErr(original);
        }
        String warnings = captured.toString(StandardCharsets.UTF_8);
        assertTrue(!warnings.contains("Could not format"), warnings);
    }

    /** Runs a spindle command, asserts its exit code and returns what it printed. */
    private static String run(int expectedExit, String... args) {
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            assertEquals(expectedExit, Spindle.commandLine().execute(args), String.join(" ", args));
        } finally {
            System.setOut(original);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }
}
