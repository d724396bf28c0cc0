// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.util.Locale;

/**
 * A run's gradient communication between processes, summed over its steps so far: for the line a run ends with,
 * and for a benchmark that reads it before and after the steps it times ({@link Trainer#communication()}).
 */
public final class CommTotals {
    private long bytes;
    private double commSeconds;
    private double waitSeconds;

    void add(DistributedBackward step) {
        bytes += step.bytesPerStep();
        commSeconds += step.lastCommSeconds();
        waitSeconds += step.lastWaitSeconds();
    }

    /** Bytes summed over the processes (0 in a single process). */
    public long bytes() {
        return bytes;
    }

    /** Seconds the communication thread spent inside MPI_Allreduce (including waits there for a slower rank). */
    public double commSeconds() {
        return commSeconds;
    }

    /** Seconds the training thread waited for the sums after backward: the communication backward did not hide. */
    public double waitSeconds() {
        return waitSeconds;
    }

    /**
     * "data parallel over N processes: X MB all-reduced per step, Y ms/step in MPI_Allreduce, Z ms/step waited for
     * after backward (P% hidden behind backward)".
     */
    String summary(int processes, long steps) {
        double comm = commSeconds / steps * 1e3;
        double wait = waitSeconds / steps * 1e3;
        return String.format(Locale.ROOT, "data parallel over %d processes: %.2f MB all-reduced per step, %.1f ms/step in"
            + " MPI_Allreduce, %.1f ms/step waited for after backward (%.0f%% hidden behind backward)", processes,
            bytes / (double) steps / 1e6, comm, wait, hiddenShare(comm, wait) * 100);
    }

    /** The share of the time in MPI_Allreduce that backward hid, in [0, 1]: 1 - waited / in MPI_Allreduce. */
    public static double hiddenShare(double comm, double wait) {
        return comm > 0 ? Math.max(0, 1 - wait / comm) : 0;
    }
}
