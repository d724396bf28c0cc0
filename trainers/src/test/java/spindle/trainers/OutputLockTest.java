// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One run per output folder: a second one (another process, or a second lock in this JVM) is refused with
 * the holder's process id; the lock goes when its holder closes it or is killed; once held, the temporaries
 * of killed runs are removed, while a checkpointer alone removes only those of ended processes.
 */
class OutputLockTest {

    @Test
    void aSecondProcessIsRefusedNamingTheHoldersPidUntilTheHolderIsKilled(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("out");
        Path ready = tmp.resolve("ready");
        Path log = tmp.resolve("holder.log");
        Process holder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
            System.getProperty("java.class.path"), LockHolder.class.getName(), dir.toString(), ready.toString())
            .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!Files.exists(ready)) {
                assertTrue(holder.isAlive(), "the holder ended; log: " + Files.readString(log));
                assertTrue(System.nanoTime() < deadline, "the holder never took the lock; log: " + Files.readString(log));
                Thread.sleep(50);
            }
            var e = assertThrows(IOException.class, () -> OutputLock.acquire(dir, s -> { }));
            assertEquals("output folder " + dir + " is in use by process " + holder.pid() + " (it holds the lock on "
                + dir.resolve(OutputLock.FILE) + "); wait for that run to end or stop it, or choose another output folder",
                e.getMessage());
        } finally {
            holder.destroyForcibly();   // SIGKILL: the operating system releases its lock
            assertTrue(holder.waitFor(60, TimeUnit.SECONDS));
        }
        try (OutputLock lock = OutputLock.acquire(dir, s -> { })) {
            assertEquals(ProcessHandle.current().pid() + "\n", Files.readString(dir.resolve(OutputLock.FILE)));
        }
    }

    @Test
    void aSecondLockInTheSameProcessIsRefusedAndCloseReleases(@TempDir Path dir) throws IOException {
        try (OutputLock first = OutputLock.acquire(dir, s -> { })) {
            var e = assertThrows(IOException.class, () -> OutputLock.acquire(dir, s -> { }));
            assertTrue(e.getMessage().contains("is in use by process " + ProcessHandle.current().pid()), e.getMessage());
        }
        OutputLock.acquire(dir, s -> { }).close();
        assertEquals("", Files.readString(dir.resolve(OutputLock.FILE)), "no stale id is left behind");
    }

    @Test
    void takingTheLockRemovesTheTemporariesOfKilledRunsAndNothingElse(@TempDir Path dir) throws IOException {
        Path model = Files.createDirectories(dir.resolve("model"));
        Path checkpoints = Files.createDirectories(dir.resolve("checkpoints"));
        List<Path> stale = List.of(Files.writeString(model.resolve(".model.safetensors.4242-1.tmp"), "half"),
            Files.createDirectories(checkpoints.resolve(".tmp-step-000015-4242")),
            Files.writeString(dir.resolve(".loss.png.4242.tmp"), "half"));
        Files.writeString(stale.get(1).resolve(Checkpointer.MODEL), "half");
        List<Path> kept = List.of(Files.writeString(model.resolve("model.safetensors"), "whole"),
            Files.createDirectories(checkpoints.resolve("step-000010")), Files.writeString(dir.resolve(".hidden"), "x"));
        List<String> notices = new ArrayList<>();
        try (OutputLock lock = OutputLock.acquire(dir, notices::add)) {
            stale.forEach(p -> assertFalse(Files.exists(p), p + " is left"));
            kept.forEach(p -> assertTrue(Files.exists(p), p + " was removed"));
        }
        assertEquals(3, notices.size(), notices.toString());
        assertTrue(notices.contains("removed " + stale.get(0) + ", a temporary left by a run that was killed while"
            + " writing"), notices.toString());
    }

    @Test
    void aSaveRemovesOnlyTheTemporariesOfEndedProcesses(@TempDir Path dir) throws Exception {
        Process ended = new ProcessBuilder("true").start();
        assertTrue(ended.waitFor(60, TimeUnit.SECONDS));
        Process running = new ProcessBuilder("sleep", "600").start();
        try {
            Files.createDirectories(dir);
            Path dead = Files.createDirectories(dir.resolve(".tmp-step-000003-" + ended.pid()));
            Path live = Files.createDirectories(dir.resolve(".tmp-step-000004-" + running.pid()));
            new TinyRun(5, dir, 5, 0).fit();
            assertFalse(Files.exists(dead), "an ended process's temporary is removed");
            assertTrue(Files.exists(live), "a running process's temporary is left alone");
        } finally {
            running.destroyForcibly();
            running.waitFor(60, TimeUnit.SECONDS);
        }
    }
}
