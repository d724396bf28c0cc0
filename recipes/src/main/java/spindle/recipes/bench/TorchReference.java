// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs PyTorch's side of {@code bench --compare}: {@code python3 torch_ref.py ...}, with the interpreter Debian's
 * {@code python3-torch} serves ({@code -Dspindle.python=...} overrides it) and this process's environment.
 */
final class TorchReference {
    static final String PYTHON = System.getProperty("spindle.python", "/usr/bin/python3");

    private TorchReference() {}

    /**
     * Runs {@code python script args...} and waits up to {@code timeoutSeconds}.
     *
     * @return the script's standard output
     * @throws IllegalStateException naming the command, its exit code and its standard error when it fails
     */
    static String run(Path script, long timeoutSeconds, String... args) {
        List<String> command = new ArrayList<>(List.of(PYTHON, script.toString()));
        command.addAll(List.of(args));
        try {
            // Files, not pipes: a chatty script cannot block, and the timeout below stays in force.
            Path out = Files.createTempFile("spindle-torch", ".out");
            Path err = Files.createTempFile("spindle-torch", ".err");
            try {
                Process proc = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
                if (!proc.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                    proc.destroyForcibly();
                    throw new IllegalStateException(script + " did not finish within " + timeoutSeconds + " s");
                }
                if (proc.exitValue() != 0) {
                    throw new IllegalStateException(String.join(" ", command) + " failed with exit code "
                        + proc.exitValue() + ": " + Files.readString(err).strip());
                }
                return Files.readString(out);
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + String.join(" ", command) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + script, e);
        }
    }
}
