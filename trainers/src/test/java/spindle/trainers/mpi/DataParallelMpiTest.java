// SPDX-License-Identifier: Apache-2.0
package spindle.trainers.mpi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.trainers.Checkpointer;

/**
 * Data parallel training across real processes: {@code mpirun -np 2} (and {@code -np 3 --oversubscribe}) runs of
 * {@link Scenario}s against the same scenario in this process with the whole global batch. The -np 2 runs use
 * buckets far smaller than the parameters, so buckets split parameters and most of them are summed while backward
 * still runs; the -np 3 run uses the default 25 MB, one bucket for these tiny models.
 */
class DataParallelMpiTest {
    private static final long STEPS = 3;
    /** 600 bytes: most buckets hold the end of one parameter and the start of the next, a matrix spans several. */
    private static final long SMALL_BUCKETS = 600;

    @Test
    void ranksWithAShareOfTheRowsTrainAsOneProcessWithTheWholeBatchAndARerunRepeatsItBitForBit(@TempDir Path dir)
            throws IOException, InterruptedException {
        MpiRun.requireMpirun();
        String all = Scenario.ALL.stream().map(Scenario::name).collect(Collectors.joining(","));
        var first = MpiRun.run(2, SMALL_BUCKETS, dir.resolve("first.log"), all, String.valueOf(STEPS),
            dir.resolve("first").toString());
        assertEquals(0, first.exitCode(), first.output());
        for (Scenario s : Scenario.ALL) {
            Scenario.Result rank0 = Scenario.Result.read(dir.resolve("first").resolve(s.name()).resolve("rank0.bin"));
            Scenario.Result rank1 = Scenario.Result.read(dir.resolve("first").resolve(s.name()).resolve("rank1.bin"));
            assertBitwiseEqual(rank0, rank1, s.name() + ": rank 1's model against rank 0's");
            Scenario.Result single = s.new Run(ProcessGroup.single(), STEPS, null, 2).fit();
            assertClose(single, rank0, s);
        }
        String repeated = "adamw32-accum-clip,moe-seqaux64";
        var second = MpiRun.run(2, SMALL_BUCKETS, dir.resolve("second.log"), repeated, String.valueOf(STEPS),
            dir.resolve("second").toString());
        assertEquals(0, second.exitCode(), second.output());
        for (String name : repeated.split(",")) {
            assertBitwiseEqual(Scenario.Result.read(dir.resolve("first").resolve(name).resolve("rank0.bin")),
                Scenario.Result.read(dir.resolve("second").resolve(name).resolve("rank0.bin")), name + ": a second run");
        }
    }

    @Test
    void threeRanksOnTwoCoresTrainAsOneProcess(@TempDir Path dir) throws IOException, InterruptedException {
        MpiRun.requireMpirun();
        String names = "adamw64-accum-clip,moe-batchaux64";
        var job = MpiRun.run(3, dir.resolve("log"), names, String.valueOf(STEPS), dir.toString());
        assertEquals(0, job.exitCode(), job.output());
        for (String name : names.split(",")) {
            Scenario s = Scenario.named(name);
            Scenario.Result rank0 = Scenario.Result.read(dir.resolve(name).resolve("rank0.bin"));
            for (int r = 1; r < 3; r++) {
                assertBitwiseEqual(rank0, Scenario.Result.read(dir.resolve(name).resolve("rank" + r + ".bin")),
                    name + ": rank " + r + "'s model against rank 0's");
            }
            assertClose(s.new Run(ProcessGroup.single(), STEPS, null, 3).fit(), rank0, s);
        }
    }

    @Test
    void aKilledRankEndsTheJobAndItsCheckpointResumesInOneProcess(@TempDir Path dir)
            throws IOException, InterruptedException {
        MpiRun.requireMpirun();
        Scenario s = Scenario.named("adamw64-accum-clip");
        Path checkpoints = dir.resolve("checkpoints");
        var job = MpiRun.run(2, dir.resolve("log"), s.name(), "4", dir.toString(), checkpoints.toString(), "halt@3");
        assertNotEquals(0, job.exitCode(), job.output());
        assertTrue(job.output().matches("(?s).*\\[\\[\\d+,\\d+],1].*Exit code:\\s+9.*"),
            "mpirun names rank 1 and its exit code:\n" + job.output());
        long saved = new Checkpointer(checkpoints, 1, 0).latest().orElseThrow(
            () -> new AssertionError("no complete checkpoint:\n" + job.output())).step();
        assertTrue(saved >= 1 && saved <= 2, "the last checkpoint is of step 1 or 2 (rank 1 died in step 3): " + saved);
        Scenario.Result resumed = s.new Run(ProcessGroup.single(), 4, checkpoints, 2).fit();
        Scenario.Result straight = s.new Run(ProcessGroup.single(), 4, null, 2).fit();
        assertClose(straight.state(), resumed.state(), 1e-12, "resumed at world size 1 after step " + saved);
    }

    @Test
    void anExceptionOnOneRankAbortsTheJobNamingTheRank(@TempDir Path dir) throws IOException, InterruptedException {
        MpiRun.requireMpirun();
        var job = MpiRun.run(2, dir.resolve("log"), "sgd64", "4", dir.toString(), "-", "throw@2");
        assertNotEquals(0, job.exitCode(), job.output());
        assertTrue(job.output().contains("rank 1 of 2 failed, ending the job")
            && job.output().contains("injected failure on rank 1 in step 2"), job.output());
    }

    @Test
    void aNonFiniteLossOnOneRankStopsEveryRankAtTheSameStep(@TempDir Path dir) throws IOException, InterruptedException {
        MpiRun.requireMpirun();
        var job = MpiRun.run(2, dir.resolve("log"), "sgd64", "4", dir.toString(), "-", "nan@2");
        assertNotEquals(0, job.exitCode(), job.output());
        assertTrue(job.output().contains("rank 0 stopped: step 2: loss on rank 1 is NaN"), job.output());
        assertTrue(job.output().contains("rank 1 stopped: step 2: loss is NaN"), job.output());
    }

    private static double tolerance(Scenario s) {
        return s.dtype() == DataType.DOUBLE ? 1e-12 : 1e-6;
    }

    private static void assertClose(Scenario.Result expected, Scenario.Result actual, Scenario s) {
        assertClose(expected.state(), actual.state(), tolerance(s), s.name());
        assertEquals(expected.tokens(), actual.tokens(), s.name() + ": tokens per step over all ranks");
        for (int i = 0; i < expected.losses().size(); i++) {
            double e = expected.losses().get(i);
            double a = actual.losses().get(i);
            if (!(Math.abs(e - a) <= tolerance(s) * Math.max(1, Math.abs(e)))) {
                fail(s.name() + ": loss of step " + (i + 1) + " is " + a + " but one process has " + e);
            }
        }
    }

    private static void assertClose(Map<String, double[]> expected, Map<String, double[]> actual, double tol, String what) {
        assertEquals(expected.keySet(), actual.keySet(), what);
        for (String key : expected.keySet()) {
            double[] e = expected.get(key);
            double[] a = actual.get(key);
            for (int i = 0; i < e.length; i++) {
                if (!(Math.abs(e[i] - a[i]) <= tol * Math.max(1, Math.abs(e[i])))) {
                    fail(what + ": " + key + "[" + i + "] is " + a[i] + " but one process has " + e[i]
                        + " (tolerance " + tol + ")");
                }
            }
        }
    }

    private static void assertBitwiseEqual(Scenario.Result expected, Scenario.Result actual, String what) {
        for (String key : expected.state().keySet()) {
            double[] e = expected.state().get(key);
            double[] a = actual.state().get(key);
            for (int i = 0; i < e.length; i++) {
                if (Double.doubleToRawLongBits(e[i]) != Double.doubleToRawLongBits(a[i])) {
                    fail(what + ": " + key + "[" + i + "] is " + a[i] + ", not bit for bit " + e[i]);
                }
            }
        }
        assertEquals(expected.losses(), actual.losses(), what + ": losses");
    }
}
