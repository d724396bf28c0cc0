// SPDX-License-Identifier: Apache-2.0
package spindle.testing;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Starts a Java main class of the calling test's classpath as an MPI job on this machine: {@code mpirun -np N} with
 * the settings that let it run as root on loopback, each rank on one OpenMP thread. Tests ask {@link #unavailable()}
 * first: without mpirun on the PATH they skip with that reason, unless {@code SPINDLE_REQUIRE_MPI=1} (CI installs
 * Open MPI), which makes it an error.
 */
public final class MpiJob {
    private MpiJob() {}

    /** The job's exit code, its combined output and its wall time. */
    public record Outcome(int exitCode, String output, double seconds) {}

    /**
     * Why an MPI job cannot run here, or empty when it can.
     *
     * @throws IllegalStateException when mpirun is missing and SPINDLE_REQUIRE_MPI=1
     */
    public static Optional<String> unavailable() {
        if (mpirun() != null) {
            return Optional.empty();
        }
        if ("1".equals(System.getenv("SPINDLE_REQUIRE_MPI"))) {
            throw new IllegalStateException("mpirun is not on the PATH but SPINDLE_REQUIRE_MPI=1: install openmpi-bin"
                + " and libopenmpi3");
        }
        return Optional.of("skipped: mpirun is not on the PATH (apt-get install openmpi-bin libopenmpi3)");
    }

    private static String mpirun() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(dir, "mpirun");
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }

    /**
     * Runs {@code java -cp <this classpath> mainClass args...} on {@code ranks} processes with the variables {@code env}
     * passed to every rank; {@code log} receives the output. A job that does not end within 10 minutes is killed.
     */
    public static Outcome run(int ranks, Map<String, String> env, Path log, String mainClass, List<String> args)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(mpirun(), "-np", String.valueOf(ranks), "--oversubscribe",
            "--bind-to", "none", "-x", "OMP_NUM_THREADS=1"));
        env.forEach((k, v) -> cmd.addAll(List.of("-x", k + "=" + v)));
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of("-Xmx512m", "-cp", System.getProperty("java.class.path"), mainClass));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("OMPI_ALLOW_RUN_AS_ROOT", "1");
        pb.environment().put("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
        pb.environment().put("OMPI_MCA_btl_tcp_if_include", "lo");
        pb.environment().put("OMPI_MCA_oob_tcp_if_include", "lo");
        long started = System.nanoTime();
        Process p = pb.start();
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new IllegalStateException("mpirun -np " + ranks + " did not end within 10 minutes; output:\n"
                + Files.readString(log));
        }
        return new Outcome(p.exitValue(), Files.readString(log), (System.nanoTime() - started) * 1e-9);
    }
}
