// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Finds and deletes the temporary files and directories that a killed run leaves in its output folder:
 * {@link Checkpointer}'s ".tmp-*" directories and the ".NAME.*.tmp" files of the atomic writes (safetensors
 * files, the loss plot). Only safe while {@link OutputLock} keeps every other run out of the folder.
 */
final class StaleTemporaries {
    private StaleTemporaries() {}

    /** True for the names the atomic writers give their temporaries. */
    static boolean isTemporary(String name) {
        return name.startsWith(".tmp-") || (name.startsWith(".") && name.endsWith(".tmp") && name.length() > 4);
    }

    /** Deletes every temporary below {@code dir}, telling {@code notices} about each; returns what it deleted. */
    static List<Path> removeUnder(Path dir, Consumer<String> notices) throws IOException {
        List<Path> found = new ArrayList<>();
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                if (!d.equals(dir) && isTemporary(d.getFileName().toString())) {
                    found.add(d);
                    return FileVisitResult.SKIP_SUBTREE;
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) {
                if (isTemporary(f.getFileName().toString())) {
                    found.add(f);
                }
                return FileVisitResult.CONTINUE;
            }
        });
        for (Path p : found) {
            Checkpointer.deleteTree(p);
            notices.accept("removed " + p + ", a temporary left by a run that was killed while writing");
        }
        return found;
    }
}
