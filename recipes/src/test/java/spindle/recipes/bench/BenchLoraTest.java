// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import spindle.layers.lora.LoraConfig;
import spindle.recipes.Spindle;

/** {@code bench --lora}: the config's "lora" section as torch_ref.py reads it, adapters only trained, PyTorch asked for --lora. */
class BenchLoraTest {
    private static final String MODEL = "\"model_type\": \"llama\", \"vocab_size\": 32, \"hidden_size\": 16,"
        + " \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"num_key_value_heads\": 1,"
        + " \"intermediate_size\": 24, \"max_position_embeddings\": 16,"
        + " \"train\": {\"batch\": 2, \"seq\": 8, \"warmup\": 1, \"steps\": 2, \"threads\": 1}";

    @TempDir
    Path dir;

    @Test
    void readsTheSectionAsTorchRefDoes() throws IOException {
        LoraConfig c = BenchLora.read(config("{\"targets\": [\"q_proj\", \"v_proj\"], \"r\": 4, \"alpha\": 8,"
            + " \"use_dora\": true}"));
        assertEquals(4, c.r());
        assertEquals(8.0, c.loraAlpha());
        assertEquals(List.of("q_proj", "v_proj"), c.targetModules().entries());
        assertTrue(c.useDora() && !c.useRslora());
        LoraConfig all = BenchLora.read(config("{\"targets\": \"all-linear\", \"r\": 4, \"alpha\": 8, \"use_rslora\": true}"));
        assertTrue(all.targetModules().isAllLinear() && all.useRslora());
    }

    @Test
    void aMissingOrWrongKeyIsNamed() throws IOException {
        assertError(dir.resolve("none.json"), "{" + MODEL + "}", "has no \"lora\" section");
        assertError(config("{\"targets\": 3, \"r\": 4, \"alpha\": 8}"), null, "lora.targets must be a list");
        assertError(config("{\"targets\": \"q_proj\", \"r\": 4, \"alpha\": 8}"), null, "lora.targets must be a list");
        assertError(config("{\"targets\": [\"q_proj\"], \"r\": 4.5, \"alpha\": 8}"), null, "lora.r must be an integer");
        assertError(config("{\"targets\": [\"q_proj\"], \"r\": 4}"), null, "lora.alpha must be a number");
    }

    @Test
    void benchLoraTrainsOnlyTheAdaptersAndRunsPyTorchWithLora() throws Exception {
        Path config = config("{\"targets\": [\"q_proj\", \"v_proj\"], \"r\": 2, \"alpha\": 4}");
        // stands in for torch_ref.py: answers only when asked for --lora
        Path fakeTorchRef = Files.writeString(dir.resolve("torch_ref.py"), "import sys\n"
            + "if '--lora' not in sys.argv: sys.exit('expected --lora')\n"
            + "print('{\"impl\": \"pytorch\", \"tokens_per_s\": 100.0}')\n");
        PrintStream stdout = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            code = Spindle.commandLine().execute("bench", "--config", config.toString(), "--lora", "--compare",
                "--torch-ref", fakeTorchRef.toString(), "--replicas", "1");
        } finally {
            System.setOut(stdout);
        }
        String printed = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, printed);
        // q_proj: A [2, 16] + B [16, 2]; v_proj (one KV head of 8): A [2, 16] + B [8, 2]
        assertTrue(printed.contains("\"trainable\": 112,"), printed);
        assertTrue(printed.contains("tokens_per_s_ratio_spindle_over_pytorch"), printed);
    }

    private Path config(String lora) throws IOException {
        return Files.writeString(dir.resolve("bench.json"), "{" + MODEL + ", \"lora\": " + lora + "}");
    }

    private static void assertError(Path file, String content, String expected) throws IOException {
        if (content != null) {
            Files.writeString(file, content);
        }
        String msg = assertThrows(IllegalArgumentException.class, () -> BenchLora.read(file)).getMessage();
        assertTrue(msg.contains(expected) && msg.contains(file.toString()), msg);
    }
}
