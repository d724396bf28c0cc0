// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.data.HfConfig;
import spindle.data.tokenizer.ByteTokenizer;
import spindle.layers.StateFiles;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;
import spindle.layers.models.Generator;
import spindle.layers.models.SamplingOptions;

/**
 * {@code spindle generate --max-new-tokens} beyond the model's max_position_embeddings prints the text that fits
 * and warns on stderr (it used to fail at the first position past the limit and print nothing).
 */
class GenerateLimitTest {
    private static final String CONFIG = "{\"model_type\": \"llama\", \"vocab_size\": 256, \"hidden_size\": 16,"
        + " \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"num_key_value_heads\": 1,"
        + " \"intermediate_size\": 24, \"max_position_embeddings\": 16}";

    @TempDir
    Path dir;

    @Test
    void moreNewTokensThanFitPrintWhatFitsAndWarn() throws Exception {
        CausalLm model = CausalLms.fromHfConfig(HfConfig.parse(CONFIG, "test config"), DataType.FLOAT, 5);
        Files.writeString(dir.resolve("config.json"), CONFIG);
        StateFiles.save(model, dir.resolve("model.safetensors"));
        // "Call me" is 7 byte tokens, so 9 new ones fit in 16 positions
        String fits = Generator.generate(CausalLms.fromPretrained(dir, DataType.FLOAT), new ByteTokenizer(), "Call me",
            SamplingOptions.greedy(9));

        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        ByteArrayOutputStream warned = new ByteArrayOutputStream();
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(warned, true, StandardCharsets.UTF_8));
        int exit;
        try {
            exit = Spindle.commandLine().execute("generate", "--model-dir", dir.toString(), "--prompt", "Call me",
                "--max-new-tokens", "40", "--temperature", "0");
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        assertEquals(0, exit, warned.toString(StandardCharsets.UTF_8));
        assertEquals(fits + System.lineSeparator(), printed.toString(StandardCharsets.UTF_8));
        assertTrue(warned.toString(StandardCharsets.UTF_8).contains("generate: only 9 of max_new_tokens 40 fit: the"
            + " prompt has 7 tokens and the model's max_position_embeddings is 16"), warned.toString(StandardCharsets.UTF_8));
    }
}
