// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bad SPINDLE_BUCKET_MB (the all-reduce bucket size) ends {@code spindle pretrain} with one line naming the variable
 * and its value, not an ExceptionInInitializerError's stack trace. Runs the command in a child JVM, which gets the
 * variable in its environment.
 */
class BucketVariableTest {
    private static final String TINY = """
        {"model_type": "llama", "vocab_size": 256, "hidden_size": 16, "num_hidden_layers": 1,
         "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": 32, "rms_norm_eps": 1e-5,
         "max_position_embeddings": 64, "tie_word_embeddings": true, "initializer_range": 0.02}""";

    @Test
    void aBadBucketSizeIsOneLineNamingTheVariableAndValue(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), TINY);
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m", "-cp",
            System.getProperty("java.class.path"), Spindle.class.getName(), "pretrain",
            "model.config=" + dir.resolve("config.json"), "data.seq=16", "data.batch=2", "train.replicas=1",
            "train.steps=1", "train.warmup=0", "train.eval_every=0", "generate.max_new_tokens=0", "output.dir=" + dir.resolve("out"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(dir.resolve("err").toFile())
            .redirectOutput(dir.resolve("out.txt").toFile());
        pb.environment().put("SPINDLE_BUCKET_MB", "25MB");
        Process p = pb.start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "pretrain did not end within 5 minutes");
        String err = Files.readString(dir.resolve("err"));
        assertEquals(2, p.exitValue(), err);
        assertEquals(List.of("spindle pretrain: SPINDLE_BUCKET_MB must be a positive number of megabytes, got '25MB'"),
            err.strip().lines().toList());
        assertFalse(Files.exists(dir.resolve("out/checkpoints")), "no step was taken");
    }
}
