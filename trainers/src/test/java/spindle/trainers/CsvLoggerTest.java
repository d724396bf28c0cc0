// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CsvLoggerTest {

    private static void run(Path dir, long first, long last) throws IOException {
        try (CsvLogger log = new CsvLogger(dir)) {
            log.start(first, last);
            for (long s = first + 1; s <= last; s++) {
                log.logStep(new StepMetrics(s, 10.0 / s, Map.of(), 1e-3, 1.0, 64, 0.5, 0));
                if (s % 2 == 0) {
                    log.logEval(s, 20.0 / s);
                }
            }
        }
    }

    private static List<String> steps(Path file) throws IOException {
        return Files.readAllLines(file).stream().skip(1).map(l -> l.substring(0, l.indexOf(','))).toList();
    }

    @Test
    void aResumedRunReplacesTheRowsAfterItsCheckpoint(@TempDir Path dir) throws IOException {
        run(dir, 0, 6);      // a run that went on to step 6 past its last checkpoint at 4 ...
        run(dir, 4, 8);      // ... resumed from step 4
        assertEquals(List.of("1", "2", "3", "4", "5", "6", "7", "8"), steps(dir.resolve("metrics.csv")));
        assertEquals(List.of("2", "4", "6", "8"), steps(dir.resolve("eval.csv")));
        assertEquals("step,loss,balance_loss,lr,grad_norm,tokens,tokens_per_second,seconds,peak_rss_bytes",
            Files.readAllLines(dir.resolve("metrics.csv")).get(0));
    }

    @Test
    void aRunFromStepZeroStartsTheFilesOver(@TempDir Path dir) throws IOException {
        run(dir, 0, 6);
        run(dir, 0, 3);
        assertEquals(List.of("1", "2", "3"), steps(dir.resolve("metrics.csv")));
        assertEquals(List.of("2"), steps(dir.resolve("eval.csv")));
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "temp file left");
        }
    }
}
