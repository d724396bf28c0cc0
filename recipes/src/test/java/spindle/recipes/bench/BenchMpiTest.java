// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import spindle.recipes.Spindle;
import spindle.testing.MpiJob;

/**
 * {@code mpirun -np 2 spindle bench}: one JSON line, from rank 0, with the whole job's tokens/s, the world size, the
 * gradient bytes all-reduced per step (4 per float32 parameter), the time in MPI_Allreduce and the time waited for
 * it, and the hidden share that follows from them.
 */
class BenchMpiTest {
    private static final String CONFIG = "{\"model_type\": \"llama\", \"vocab_size\": 32, \"hidden_size\": 16,"
        + " \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"num_key_value_heads\": 1,"
        + " \"intermediate_size\": 24, \"max_position_embeddings\": 16,"
        + " \"train\": {\"batch\": 2, \"seq\": 8, \"warmup\": 1, \"steps\": 3, \"threads\": 1}}";

    @Test
    void rankZeroPrintsOneLineForTheWholeJob(@TempDir Path dir) throws Exception {
        var why = MpiJob.unavailable();
        Assumptions.assumeTrue(why.isEmpty(), why.orElse(""));
        Path config = Files.writeString(dir.resolve("tiny.json"), CONFIG);
        var job = MpiJob.run(2, Map.of("SPINDLE_BUCKET_MB", String.valueOf(1000.0 / (1 << 20))), dir.resolve("log"),
            Spindle.class.getName(), List.of("bench", "--config", config.toString(), "--replicas", "1"));
        assertEquals(0, job.exitCode(), job.output());
        List<String> lines = job.output().lines().filter(l -> l.startsWith("{\"impl\": \"spindle\"")).toList();
        assertEquals(1, lines.size(), "one JSON line:\n" + job.output());
        String line = lines.get(0);
        assertEquals(2, number(line, "world_size"), line);
        assertEquals(number(line, "params") * 4 / 1e6, number(line, "allreduce_mb_per_step"), 0.0005, line);
        double tokensPerSecond = 2 * 2 * 8 / (number(line, "step_ms_median") / 1e3);
        assertEquals(tokensPerSecond, number(line, "tokens_per_s"), tokensPerSecond * 0.01, "both ranks' tokens: " + line);
        double comm = number(line, "allreduce_ms_per_step");
        double wait = number(line, "comm_wait_ms_per_step");
        assertTrue(comm > 0 && wait >= 0, line);
        assertEquals(Math.max(0, 1 - wait / comm), number(line, "comm_hidden_share"), 0.01, line);
    }

    private static double number(String line, String key) {
        return JsonNumbers.require(line, key, "bench's line");
    }
}
