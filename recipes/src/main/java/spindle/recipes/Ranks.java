// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import spindle.autograd.Tensor;
import spindle.layers.Module;
import spindle.trainers.mpi.ProcessGroup;

/**
 * What a recipe does differently on the ranks of an MPI job ({@code mpirun -np N ./spindle ...}): rank 0 owns the
 * output folder (lock, data files, logs, checkpoints, final model); every rank trains on data.batch / N rows of each
 * global batch of data.batch rows. In a single process rank 0 is the only rank.
 */
final class Ranks {
    private static volatile boolean stoppedTogether;

    private Ranks() {}

    /**
     * Rows of each batch this rank takes: data.batch over the ranks, which must divide it (so that a checkpoint
     * resumes with any number of ranks that divides it, and N ranks train as one process with the whole batch).
     */
    static int rowsPerRank(int batch, ProcessGroup group) {
        if (batch % group.size() != 0) {
            throw new IllegalArgumentException("data.batch " + batch + " does not divide over the " + group.size()
                + " processes of this MPI job: use a multiple of " + group.size() + " (data.batch is the global batch)");
        }
        return batch / group.size();
    }

    /** Where this rank writes its tokenized copy of the text: OUTPUT/data on rank 0, a private temporary folder else. */
    static Path dataDir(Path out, ProcessGroup group) throws IOException {
        if (group.isMain()) {
            return out.resolve("data");
        }
        Path dir = Files.createTempDirectory("spindle-rank" + group.rank() + "-");
        dir.toFile().deleteOnExit();
        dir.resolve("train.bin").toFile().deleteOnExit();
        dir.resolve("val.bin").toFile().deleteOnExit();
        return dir;
    }

    /** printf on rank 0 only (the other ranks train silently). */
    static void printOnMain(ProcessGroup group, String format, Object... args) {
        if (group.isMain()) {
            System.out.printf(format, args);
        }
    }

    /** ", N processes" under an MPI job of N > 1 processes, else "". */
    static String count(ProcessGroup group) {
        return group.size() == 1 ? "" : ", " + group.size() + " processes";
    }

    /**
     * Checks that every rank ends training with rank 0's trainable parameters, bit for bit (they apply the same summed
     * gradients; machines whose arithmetic differs would drift apart): compares a 64-bit hash of their bits.
     */
    static void requireSameParameters(Module model, ProcessGroup group) {
        if (group.size() == 1) {
            return;
        }
        long hash = 0xcbf29ce484222325L;
        for (Tensor p : model.trainableParameters().values()) {
            for (double v : p.value().ravel().toDoubleVector()) {
                hash = (hash ^ Double.doubleToRawLongBits(v)) * 0x100000001b3L;
            }
        }
        double[] slots = new double[2 * group.size()];
        slots[2 * group.rank()] = hash >>> 32;
        slots[2 * group.rank() + 1] = hash & 0xffffffffL;
        double[] all = group.allReduceSum(slots);
        List<Integer> differing = new ArrayList<>();
        for (int r = 1; r < group.size(); r++) {
            if (all[2 * r] != all[0] || all[2 * r + 1] != all[1]) {
                differing.add(r);
            }
        }
        if (!differing.isEmpty()) {
            throw new IllegalStateException("the trained parameters of rank(s) " + differing + " differ from rank 0's:"
                + " the processes computed the same step differently (machines with different CPUs or libraries?)");
        }
    }

    /** Notes that the run stopped on every rank at the same step (a NaN or Inf), so the ranks can end normally. */
    static void stoppedTogether() {
        stoppedTogether = true;
    }

    /**
     * The exit code after a command ended with {@code code}: MPI is finalized if it was started; a failure that other
     * ranks may not share ends the whole job with MPI_Abort instead, so that no rank waits for this one forever.
     */
    static int exit(int code) {
        if (code != 0 && !stoppedTogether) {
            ProcessGroup.abortOnFailure("exit code " + code);
        }
        ProcessGroup.finish();
        return code;
    }
}
