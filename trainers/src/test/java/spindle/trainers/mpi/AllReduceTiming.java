// SPDX-License-Identifier: Apache-2.0
package spindle.trainers.mpi;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The bare all-reduce a training step's communication is compared with: {@code mpirun -np N java ...
 * AllReduceTiming FLOATS [ROUNDS]} sums an ND4J float buffer of FLOATS elements over the ranks ROUNDS times (after
 * 3 unmeasured ones) and rank 0 prints the median and minimum milliseconds of one MPI_Allreduce.
 */
public final class AllReduceTiming {
    private AllReduceTiming() {}

    public static void main(String[] args) {
        ProcessGroup group = ProcessGroup.world();
        long floats = Long.parseLong(args[0]);
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        INDArray buffer = Nd4j.rand(DataType.FLOAT, floats);
        double[] ms = new double[rounds];
        for (int i = -3; i < rounds; i++) {
            group.barrier();
            long t = System.nanoTime();
            group.allReduceSum(buffer);
            if (i >= 0) {
                ms[i] = (System.nanoTime() - t) * 1e-6;
            }
        }
        Arrays.sort(ms);
        if (group.isMain()) {
            System.out.printf("all-reduce of %d floats (%.2f MB) over %d processes: median %.2f ms, min %.2f ms%n", floats,
                floats * 4 / 1e6, group.size(), ms[rounds / 2], ms[0]);
        }
        ProcessGroup.finish();
    }
}
