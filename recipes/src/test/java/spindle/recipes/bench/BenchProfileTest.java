// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import spindle.recipes.Spindle;

/** bench's JSON line carries the step's GEMM figures, and --profile prints where the step's time went. */
class BenchProfileTest {
    @TempDir
    Path dir;

    @Test
    void theJsonLineHasTheGemmFiguresAndTheProfileItsTable() throws Exception {
        Path config = dir.resolve("tiny.json");
        Files.writeString(config, "{\"model_type\": \"llama\", \"vocab_size\": 32, \"hidden_size\": 16,"
            + " \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"num_key_value_heads\": 1,"
            + " \"intermediate_size\": 24, \"max_position_embeddings\": 16,"
            + " \"train\": {\"batch\": 2, \"seq\": 8, \"warmup\": 1, \"steps\": 2, \"threads\": 1}}");
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream before = System.out;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            assertEquals(0, Spindle.commandLine().execute("bench", "--config", config.toString(), "--profile", "3"));
        } finally {
            System.setOut(before);
        }
        String out = captured.toString(StandardCharsets.UTF_8);
        String json = out.lines().findFirst().orElseThrow();
        // per step, over 16 tokens: 8 linears (q, k, v, o, the MLP's 3, lm_head) of 3 products each, and the
        // attention's 2 forward and 4 backward products over 2 batches of 2 heads' 8 queries, width 8, each query
        // over the keys it sees: 4.5 on average, counted as 5
        double flops = 3 * 2.0 * 16 * (16 * 16 + 2 * 16 * 8 + 16 * 16 + 3 * 16 * 24 + 16 * 32)
            + 6 * 2.0 * 2 * (2 * 8) * 5 * 8;
        assertEquals(flops / 1e9, JsonNumbers.require(json, "gemm_gflop_per_step", "bench"), 1e-6, json);
        for (String key : new String[] {"gemm_gflops_per_s", "gemm_peak_gflops_per_s", "mfu", "gemm_share"}) {
            double x = JsonNumbers.require(json, key, "bench");
            assertTrue(x >= 0 && Double.isFinite(x), key + " in " + json);   // 0.00 GFLOP/s is possible on a busy machine
        }
        assertTrue(out.contains("by kind") && out.contains("by layer") && out.contains("by op"), out);
    }
}
