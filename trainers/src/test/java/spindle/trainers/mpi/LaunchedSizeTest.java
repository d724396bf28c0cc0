// SPDX-License-Identifier: Apache-2.0
package spindle.trainers.mpi;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A launcher's process count against the ranks MPI joined: srun with a PMI the MPI library does not speak starts
 * each process as a one-process job, which must fail instead of training N separate models that each write as
 * rank 0.
 */
class LaunchedSizeTest {
    @Test
    void aLauncherThatStartedMoreProcessesThanMpiJoinedIsAnError() {
        var e = assertThrows(IllegalStateException.class,
            () -> ProcessGroup.requireLaunchedSize(Map.of("PMI_SIZE", "2", "SLURM_STEP_NUM_TASKS", "2"), 1));
        assertEquals("MPI: the launcher started 2 processes (PMI_SIZE=2) but MPI joined 1; with Slurm use srun"
            + " --mpi=pmix, which Open MPI speaks (srun --mpi=list shows what the cluster has)", e.getMessage());
        assertThrows(IllegalStateException.class,
            () -> ProcessGroup.requireLaunchedSize(Map.of("SLURM_STEP_NUM_TASKS", "4", "PMIX_RANK", "0"), 1));
    }

    @Test
    void matchingCountsOrNoCountPass() {
        assertDoesNotThrow(() -> ProcessGroup.requireLaunchedSize(Map.of("OMPI_COMM_WORLD_SIZE", "2"), 2));
        assertDoesNotThrow(() -> ProcessGroup.requireLaunchedSize(Map.of("PMIX_RANK", "1", "SLURM_STEP_NUM_TASKS", "3"), 3));
        assertDoesNotThrow(() -> ProcessGroup.requireLaunchedSize(Map.of("PMIX_RANK", "0"), 2));
    }
}
