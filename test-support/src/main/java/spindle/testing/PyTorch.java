// SPDX-License-Identifier: Apache-2.0
package spindle.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Runs a Python script against PyTorch, the reference that parity tests compare with. Tests ask
 * {@link #missing()} first: where PyTorch is not installed they skip with that reason, unless the
 * environment sets {@code SPINDLE_REQUIRE_TORCH=1} (CI does), which turns a missing PyTorch into a failure.
 */
public final class PyTorch {
    /** Debian's interpreter, the one {@code python3-torch} serves; {@code -Dspindle.python=...} overrides it. */
    public static final String PYTHON = System.getProperty("spindle.python", "/usr/bin/python3");
    private static Optional<String> missing;

    private PyTorch() {}

    /** Why PyTorch cannot be used here, or empty when {@code import torch} works. Checked once per JVM. */
    public static synchronized Optional<String> missing() {
        if (missing == null) {
            try {
                Process probe = new ProcessBuilder(PYTHON, "-c", "import torch")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                boolean done = probe.waitFor(60, TimeUnit.SECONDS);
                missing = done && probe.exitValue() == 0 ? Optional.empty()
                    : Optional.of(PYTHON + " cannot import torch (install Debian's python3-torch, as .ci/run does)");
            } catch (IOException e) {
                missing = Optional.of(PYTHON + " cannot be run: " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                missing = Optional.of("interrupted while probing " + PYTHON);
            }
        }
        return missing;
    }

    /** True when the environment demands the reference ({@code SPINDLE_REQUIRE_TORCH=1}), as CI does. */
    public static boolean required() {
        return "1".equals(System.getenv("SPINDLE_REQUIRE_TORCH"));
    }

    /**
     * For a test that needs PyTorch: why it cannot run here ({@code alsoMissing}, another missing piece such as
     * a script, else {@link #missing()}), or empty when it can. When {@link #required()} a missing piece is an
     * error instead, so CI fails rather than skips. Use as {@code assumeTrue(why.isEmpty(), ...)}.
     *
     * @throws IllegalStateException naming what is missing, when SPINDLE_REQUIRE_TORCH=1
     */
    public static Optional<String> unavailable(String alsoMissing) {
        return skipOrFail(alsoMissing != null ? Optional.of(alsoMissing) : missing(), required());
    }

    /** The rule of {@link #unavailable}: {@code why} is returned for the test to skip, or thrown when {@code required}. */
    static Optional<String> skipOrFail(Optional<String> why, boolean required) {
        if (why.isPresent() && required) {
            throw new IllegalStateException("SPINDLE_REQUIRE_TORCH=1 but " + why.get());
        }
        return why;
    }

    /**
     * Runs {@code python script args...} in {@code workDir} and waits up to {@code timeoutSeconds}.
     *
     * @return the script's standard output
     * @throws IllegalStateException naming the script, its exit code and its standard error when it fails
     */
    public static String run(Path script, long timeoutSeconds, String... args) {
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
