// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The program the lock test runs in a child JVM: takes the {@link OutputLock} of {@code dir}, creates
 * {@code readyFile} and waits to be killed. Usage: LockHolder dir readyFile.
 */
public final class LockHolder {
    private LockHolder() {}

    public static void main(String[] args) throws IOException, InterruptedException {
        OutputLock lock = OutputLock.acquire(Path.of(args[0]), System.err::println);
        Files.writeString(Path.of(args[1]), "locked");
        Thread.sleep(Long.MAX_VALUE);
        lock.close();
    }
}
