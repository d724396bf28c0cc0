// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.util.Locale;

/** A run's gradient communication between processes, summed over its steps, for the line it ends with. */
final class CommTotals {
    private long bytes;
    private double commSeconds;
    private double waitSeconds;

    void add(DistributedBackward step) {
        bytes += step.bytesPerStep();
        commSeconds += step.lastCommSeconds();
        waitSeconds += step.lastWaitSeconds();
    }

    /**
     * "data parallel over N processes: X MB all-reduced per step, Y ms/step in MPI_Allreduce, Z ms/step waited for
     * after backward (P% hidden behind backward)".
     */
    String summary(int processes, long steps) {
        double comm = commSeconds / steps * 1e3;
        double wait = waitSeconds / steps * 1e3;
        double hidden = comm > 0 ? Math.max(0, 1 - wait / comm) * 100 : 0;
        return String.format(Locale.ROOT, "data parallel over %d processes: %.2f MB all-reduced per step, %.1f ms/step in"
            + " MPI_Allreduce, %.1f ms/step waited for after backward (%.0f%% hidden behind backward)", processes,
            bytes / (double) steps / 1e6, comm, wait, hidden);
    }
}
