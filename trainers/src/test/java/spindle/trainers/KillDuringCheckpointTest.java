// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A training process killed with SIGKILL while it writes a checkpoint leaves the previous checkpoint as the
 * newest complete one; a new process resumes from it and produces the losses of an uninterrupted run, bit
 * for bit. All three runs are child JVMs with one OpenMP thread, so they compute identically.
 */
class KillDuringCheckpointTest {
    private static final long STEPS = 20;
    private static final long KILL_AT = 15;

    private static ProcessBuilder child(Path dir, Path losses, Path log, String... props) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx1g");
        cmd.addAll(List.of(props));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), CheckpointChild.class.getName(),
            dir.toString(), losses.toString(), Long.toString(STEPS)));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("OMP_NUM_THREADS", "1");
        return pb;
    }

    private static void runToEnd(ProcessBuilder pb, Path log) throws IOException, InterruptedException {
        Process p = pb.start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "child did not finish; log: " + Files.readString(log));
        assertEquals(0, p.exitValue(), "child failed; log: " + Files.readString(log));
    }

    /** step -> loss bits (hex) as the child wrote them. */
    private static Map<Long, String> losses(Path file) throws IOException {
        Map<Long, String> out = new TreeMap<>();
        for (String line : Files.readAllLines(file)) {
            String[] f = line.split(" ");
            out.put(Long.parseLong(f[0]), f[1]);
        }
        return out;
    }

    @Test
    void killedMidCheckpointResumesFromThePreviousOneWithTheSameLosses(@TempDir Path tmp) throws Exception {
        Path refLosses = tmp.resolve("reference.txt");
        runToEnd(child(tmp.resolve("reference"), refLosses, tmp.resolve("reference.log")), tmp.resolve("reference.log"));
        Map<Long, String> reference = losses(refLosses);
        assertEquals(STEPS, reference.size());

        Path dir = tmp.resolve("run");
        Path losses = tmp.resolve("run.txt");
        Path ready = tmp.resolve("paused");
        Path log = tmp.resolve("killed.log");
        Process p = child(dir, losses, log, "-D" + Checkpointer.PAUSE_AT_STEP_PROPERTY + "=" + KILL_AT,
            "-D" + Checkpointer.READY_FILE_PROPERTY + "=" + ready).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (!Files.exists(ready)) {
            assertTrue(p.isAlive(), "child ended before pausing; log: " + Files.readString(log));
            assertTrue(System.nanoTime() < deadline, "child never paused; log: " + Files.readString(log));
            Thread.sleep(50);
        }
        p.destroyForcibly();   // SIGKILL on Linux: no shutdown hooks, no finally blocks
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(137, p.exitValue(), "killed by signal 9");

        assertEquals(List.of(dir.resolve("step-000005"), dir.resolve("step-000010")),
            new Checkpointer(dir, 5, 0).complete());
        assertFalse(Files.exists(dir.resolve("step-000015")));
        assertEquals("step-000010\n", Files.readString(dir.resolve("latest")));
        try (Stream<Path> entries = Files.list(dir)) {
            Path partial = entries.filter(e -> e.getFileName().toString().startsWith(".tmp-step-000015-"))
                .findFirst().orElseThrow(() -> new AssertionError("no half-written checkpoint in " + dir));
            assertTrue(Files.exists(partial.resolve(Checkpointer.MODEL)), "the kill came after the model file");
            assertFalse(Files.exists(partial.resolve(Checkpointer.TRAINER_STATE)));
        }
        Map<Long, String> beforeKill = losses(losses);
        assertEquals(KILL_AT, beforeKill.size());

        Path resumedLosses = tmp.resolve("resumed.txt");
        runToEnd(child(dir, resumedLosses, tmp.resolve("resumed.log")), tmp.resolve("resumed.log"));
        Map<Long, String> resumed = losses(resumedLosses);
        assertEquals(List.copyOf(reference.keySet()).subList(10, (int) STEPS), List.copyOf(resumed.keySet()),
            "the resumed run starts after step 10, the last complete checkpoint");
        for (long s = 1; s <= STEPS; s++) {
            String got = s <= 10 ? beforeKill.get(s) : resumed.get(s);
            assertEquals(reference.get(s), got, "loss bits at step " + s);
        }
        for (long s = 11; s <= KILL_AT; s++) {
            assertEquals(reference.get(s), beforeKill.get(s), "killed run, step " + s);
        }
    }
}
