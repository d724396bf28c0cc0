// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import spindle.recipes.Spindle;

/** {@code bench --compare} reads PyTorch's tokens/s from its JSON line; anything else is an error, never a 0. */
class BenchCompareTest {
    @TempDir
    Path dir;

    @Test
    void aPyTorchLineWithoutTokensPerSecondIsAnErrorNamingKeyAndOutput() throws Exception {
        Path config = dir.resolve("tiny.json");
        Files.writeString(config, "{\"model_type\": \"llama\", \"vocab_size\": 32, \"hidden_size\": 16,"
            + " \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"num_key_value_heads\": 1,"
            + " \"intermediate_size\": 24, \"max_position_embeddings\": 16,"
            + " \"train\": {\"batch\": 2, \"seq\": 8, \"warmup\": 1, \"steps\": 2, \"threads\": 1}}");
        // stands in for torch_ref.py: a bench line that lost its tokens_per_s
        Path fakeTorchRef = dir.resolve("torch_ref.py");
        Files.writeString(fakeTorchRef, "print('{\"impl\": \"pytorch\", \"step_ms_median\": 3.1}')\n");
        StringWriter err = new StringWriter();
        CommandLine cli = Spindle.commandLine();
        cli.setErr(new PrintWriter(err));
        assertEquals(2, cli.execute("bench", "--config", config.toString(), "--compare",
            "--torch-ref", fakeTorchRef.toString(), "--replicas", "1"));
        assertTrue(err.toString().contains("the output of torch_ref.py bench")
            && err.toString().contains("has no \"tokens_per_s\""), err.toString());
    }

    @Test
    void aValueThatIsNotANumberIsAnError() {
        var e = assertThrows(IllegalArgumentException.class,
            () -> JsonNumbers.require("{\"tokens_per_s\": \"fast\"}", "tokens_per_s", "the output of X"));
        assertTrue(e.getMessage().contains("\"tokens_per_s\" must be a number but is \"fast\""), e.getMessage());
    }

    @Test
    void aLineThatIsNotJsonNamesTheOutput() {
        var e = assertThrows(IllegalArgumentException.class,
            () -> JsonNumbers.require("Warning: torch is old", "tokens_per_s", "the output of X"));
        assertTrue(e.getMessage().startsWith("the output of X is not one JSON line"), e.getMessage());
    }
}
