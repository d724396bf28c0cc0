// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.layers.Module;
import spindle.layers.moe.Router;
import spindle.trainers.mpi.ProcessGroup;

/** Model state that data-parallel processes must agree on, made equal across the {@link ProcessGroup}'s ranks. */
final class CrossRank {
    private CrossRank() {}

    /** Overwrites every floating-point parameter and buffer with rank 0's, so all ranks start from one model. */
    static void broadcastState(Module model, ProcessGroup group) {
        if (group.size() == 1) {
            return;
        }
        for (INDArray a : model.stateDict().values()) {
            if (a.dataType().isFPType()) {
                group.broadcast(a);
            }
        }
    }

    /**
     * Replaces each MoE router's load of this step by its sum over the ranks, so the loss-free balancing bias moves
     * by the global batch's load on every rank, as one process with the whole batch would move it.
     */
    static void sumRouterLoads(Module model, ProcessGroup group) {
        if (group.size() == 1) {
            return;
        }
        for (Module m : model.namedModules().values()) {
            if (m instanceof Router router && router.pendingLoad() != null) {
                long[] load = router.pendingLoad();
                double[] asDoubles = new double[load.length];
                for (int i = 0; i < load.length; i++) {
                    asDoubles[i] = load[i];
                }
                double[] total = group.allReduceSum(asDoubles);
                for (int i = 0; i < load.length; i++) {
                    load[i] = Math.round(total[i]);
                }
                router.replacePendingLoad(load);
            }
        }
    }
}
