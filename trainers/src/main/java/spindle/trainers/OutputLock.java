// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.Consumer;

/**
 * One run per output folder: an exclusive lock on {@code OUTPUT/.lock} (taken with {@link FileChannel#tryLock},
 * so the operating system releases it when the process ends, also on kill -9), with the holder's process id
 * written in the file so that a second run's refusal can name it. Once it holds the lock, a run removes the
 * temporary files that killed runs left in the folder: no other run can be writing them.
 *
 * <pre>{@code
 * try (OutputLock lock = OutputLock.acquire(out, System.err::println)) {
 *     ... train, writing only below out ...
 * }
 * }</pre>
 */
public final class OutputLock implements AutoCloseable {
    /** The lock file's name inside the output folder. */
    public static final String FILE = ".lock";
    private final FileChannel channel;
    private final FileLock lock;

    private OutputLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Locks {@code dir} (created if needed) for this process, then removes stale temporary files below it,
     * telling {@code notices} about each. Throws an IOException naming the folder and the holder's process
     * id when another run (or another lock in this JVM) holds it.
     */
    public static OutputLock acquire(Path dir, Consumer<String> notices) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve(FILE);
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
            StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;   // this JVM holds it already
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        if (lock == null) {
            String holder = holder(ch);
            ch.close();
            throw new IOException("output folder " + dir + " is in use by " + holder + " (it holds the lock on "
                + file + "); wait for that run to end or stop it, or choose another output folder");
        }
        ch.truncate(0);
        ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)), 0);
        ch.force(false);
        OutputLock held = new OutputLock(ch, lock);
        try {
            StaleTemporaries.removeUnder(dir, notices);
        } catch (IOException | RuntimeException e) {
            held.close();
            throw e;
        }
        return held;
    }

    /** "process 4242" as the holder wrote it, or a phrase saying it has not written its id yet. */
    private static String holder(FileChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(64);
        ch.read(b, 0);
        String pid = new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).strip();
        return pid.isEmpty() ? "another process (it has not written its id yet)" : "process " + pid;
    }

    /** Empties the file (no stale id is left to read) and releases the lock. */
    @Override
    public void close() throws IOException {
        try {
            if (lock.isValid()) {
                channel.truncate(0);
                lock.release();
            }
        } finally {
            channel.close();
        }
    }
}
