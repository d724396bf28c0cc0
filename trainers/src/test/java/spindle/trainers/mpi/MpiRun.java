// SPDX-License-Identifier: Apache-2.0
package spindle.trainers.mpi;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Starts {@link DataParallelMain} as an MPI job on this machine: {@code mpirun -np N} with the settings that let it
 * run as root on loopback, each rank on one OpenMP thread. Without mpirun on the PATH the calling test is skipped,
 * saying so, unless SPINDLE_REQUIRE_MPI=1 (CI installs Open MPI), where it fails.
 */
final class MpiRun {
    private MpiRun() {}

    /** The job's exit code and its combined output. */
    record Outcome(int exitCode, String output, double seconds) {}

    static void requireMpirun() {
        boolean found = mpirun() != null;
        if (!found && "1".equals(System.getenv("SPINDLE_REQUIRE_MPI"))) {
            fail("mpirun is not on the PATH but SPINDLE_REQUIRE_MPI=1: install openmpi-bin and libopenmpi3");
        }
        Assumptions.assumeTrue(found, "skipped: mpirun is not on the PATH (apt-get install openmpi-bin libopenmpi3)");
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

    /** Runs {@code DataParallelMain args} on {@code ranks} processes; {@code log} receives the output. */
    static Outcome run(int ranks, Path log, String... args) throws IOException, InterruptedException {
        return run(ranks, 0, log, args);
    }

    /** As above with all-reduce buckets of {@code bucketBytes} (0: the default 25 MB). */
    static Outcome run(int ranks, long bucketBytes, Path log, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(mpirun(), "-np", String.valueOf(ranks), "--oversubscribe",
            "--bind-to", "none", "-x", "OMP_NUM_THREADS=1"));
        if (bucketBytes > 0) {
            cmd.addAll(List.of("-x", "SPINDLE_BUCKET_MB=" + bucketBytes / (double) (1 << 20)));
        }
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of("-Xmx512m", "-cp", System.getProperty("java.class.path"), DataParallelMain.class.getName()));
        cmd.addAll(List.of(args));
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
            fail("mpirun -np " + ranks + " did not end within 10 minutes; output:\n" + Files.readString(log));
        }
        return new Outcome(p.exitValue(), Files.readString(log), (System.nanoTime() - started) * 1e-9);
    }
}
