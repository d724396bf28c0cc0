// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import spindle.testing.PyTorch;

/**
 * {@code ./spindle parity} run the way a user runs it: the launcher from the repository root, with the
 * environment of this build, on the jar and classpath.txt that {@code package} made. It picks the OpenBLAS
 * kernels itself (and checks them) on this CPU, so a float64 GEMM that is wrong here fails the parity.
 */
class LauncherParityIT {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Path CONFIGS = ROOT.resolveSibling("shared").resolve("bench").resolve("configs");
    private static final Path WORK = Path.of("target", "launcher-parity").toAbsolutePath();
    private static final Map<String, Path> EXPORTED = new HashMap<>();

    /** The shared reference configs; the fixtures are exported in float64 by torch_ref.py. */
    static Stream<String> configs() throws IOException {
        if (!Files.isDirectory(CONFIGS)) {
            return Stream.of("tiny-llama", "tiny-deepseek");   // the test then skips or fails with the reason
        }
        try (Stream<Path> files = Files.list(CONFIGS)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".json"))
                .map(n -> n.substring(0, n.length() - ".json".length())).sorted().toList().stream();
        }
    }

    @ParameterizedTest
    @MethodSource("configs")
    void parityPassesThroughTheLauncher(String config) throws Exception {
        Path dir = export(config);
        Run run = spindle(Map.of(), "parity", "--model-dir", dir.toString());
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.stdout().contains("\"pass\": true"), run.toString());
    }

    /** A core type whose kernels cannot run here crashes only the check; the command runs on OpenBLAS's kernels. */
    @Test
    void aCoreTypeThatCrashesTheCheckIsDroppedWithOneLine() throws Exception {
        String flags = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("flags"))
            .findFirst().orElse("");
        assumeTrue(flags.contains(" avx2"), "an x86-64 CPU with AVX2");
        assumeFalse(flags.contains(" avx512f"), "SkylakeX's AVX-512 kernels run on this CPU");
        Path dir = export("tiny-llama");
        Run run = spindle(Map.of("OPENBLAS_CORETYPE", "SkylakeX"), "parity", "--model-dir", dir.toString());
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.stdout().contains("\"pass\": true"), run.toString());
        assertTrue(run.stderr().contains("spindle: OPENBLAS_CORETYPE=SkylakeX rejected, OpenBLAS picks its own"
            + " kernels: its check crashed"), run.toString());
    }

    /** The fixture of {@code config}, exported once per run. */
    private static synchronized Path export(String config) {
        return EXPORTED.computeIfAbsent(config, LauncherParityIT::exportNow);
    }

    private static Path exportNow(String config) {
        Path script = CONFIGS.resolveSibling("torch_ref.py");
        Optional<String> why = PyTorch.unavailable(Files.isRegularFile(script) ? null : "no " + script + " beside the repository");
        assumeTrue(why.isEmpty(), () -> "launcher parity skipped: " + why.orElseThrow());
        Path out = WORK.resolve(config);
        PyTorch.run(script, 600, "export", CONFIGS.resolve(config + ".json").toString(), out.toString());
        return out;
    }

    record Run(int exitCode, String stdout, String stderr) {}

    /** Runs ./spindle from the repository root with this build's environment plus {@code env}. */
    private static Run spindle(Map<String, String> env, String... args) throws IOException, InterruptedException {
        Files.createDirectories(WORK);
        Path out = Files.createTempFile(WORK, "spindle", ".out");
        Path err = Files.createTempFile(WORK, "spindle", ".err");
        ProcessBuilder pb = new ProcessBuilder(Stream.concat(Stream.of("./spindle"), Stream.of(args)).toList())
            .directory(ROOT.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().remove("OPENBLAS_CORETYPE");   // the launcher's choice is under test, not the shell's
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(600, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("./spindle " + String.join(" ", args) + " did not finish within 600 s");
        }
        Run run = new Run(p.exitValue(), Files.readString(out), Files.readString(err));
        // Maven just packaged the jar: the launcher must run it, not rebuild inside this build
        assertFalse(run.stderr().contains("spindle: building"), run.toString());
        return run;
    }
}
