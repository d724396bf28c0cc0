// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import java.util.Locale;
import spindle.trainers.CommTotals;

/**
 * What a timed step of a bench under mpirun spent on summing gradients over the processes, on rank 0: the bytes,
 * the milliseconds inside MPI_Allreduce on the communication thread, and the milliseconds the training thread
 * waited for it after backward (the part backward did not hide).
 */
record Communication(int worldSize, double bytesPerStep, double commMsPerStep, double waitMsPerStep) {

    /** The JSON fields of {@link BenchResult#toJson()}. */
    String jsonFields() {
        return String.format(Locale.ROOT, "\"world_size\": %d, \"allreduce_mb_per_step\": %.3f,"
            + " \"allreduce_ms_per_step\": %.2f, \"comm_wait_ms_per_step\": %.2f, \"comm_hidden_share\": %.3f",
            worldSize, bytesPerStep / 1e6, commMsPerStep, waitMsPerStep, CommTotals.hiddenShare(commMsPerStep,
                waitMsPerStep));
    }
}
