// SPDX-License-Identifier: Apache-2.0
package spindle.trainers.mpi;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import spindle.testing.MpiJob;

/**
 * Starts {@link DataParallelMain} as an MPI job on this machine through {@link MpiJob}. Without mpirun on the PATH
 * the calling test is skipped, saying so, unless SPINDLE_REQUIRE_MPI=1 (CI installs Open MPI), where it fails.
 */
final class MpiRun {
    private MpiRun() {}

    static void requireMpirun() {
        var why = MpiJob.unavailable();
        Assumptions.assumeTrue(why.isEmpty(), why.orElse(""));
    }

    /** Runs {@code DataParallelMain args} on {@code ranks} processes; {@code log} receives the output. */
    static MpiJob.Outcome run(int ranks, Path log, String... args) throws IOException, InterruptedException {
        return run(ranks, 0, log, args);
    }

    /** As above with all-reduce buckets of {@code bucketBytes} (0: the default 25 MB). */
    static MpiJob.Outcome run(int ranks, long bucketBytes, Path log, String... args)
            throws IOException, InterruptedException {
        Map<String, String> env = bucketBytes > 0 ? Map.of("SPINDLE_BUCKET_MB", String.valueOf(bucketBytes / (double) (1 << 20)))
            : Map.of();
        return MpiJob.run(ranks, env, log, DataParallelMain.class.getName(), List.of(args));
    }
}
