// SPDX-License-Identifier: Apache-2.0
package spindle.trainers.mpi;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;

/**
 * The processes that train one model together: under mpirun or srun, every rank of MPI_COMM_WORLD; otherwise this
 * process alone ({@link #single()}), where every collective returns its input and no MPI library is loaded.
 * Collectives take ND4J arrays and pass their off-heap memory to MPI directly.
 */
public final class ProcessGroup {
    private static final ProcessGroup SINGLE = new ProcessGroup(null);
    private static ProcessGroup world;

    private final Mpi mpi;   // null: a single process

    private ProcessGroup(Mpi mpi) {
        this.mpi = mpi;
    }

    /** This process alone. */
    public static ProcessGroup single() {
        return SINGLE;
    }

    /**
     * The job's processes: MPI is started on the first call when a launcher started this process
     * ({@link Mpi#launched()}), loading {@code SPINDLE_MPI_LIBRARY} if set, else Open MPI's libmpi; otherwise
     * {@link #single()}.
     */
    public static synchronized ProcessGroup world() {
        if (world == null) {
            if (Mpi.launched()) {
                String library = System.getenv("SPINDLE_MPI_LIBRARY");
                MpiAbi abi = library == null || library.isEmpty() ? MpiAbi.OPEN_MPI : MpiAbi.OPEN_MPI.withLibrary(library);
                world = new ProcessGroup(Mpi.start(abi));
                requireLaunchedSize(System.getenv(), world.size());
            } else {
                world = SINGLE;
            }
        }
        return world;
    }

    /**
     * Fails when the launcher started more processes than MPI joined: an MPI library that cannot talk to the
     * launcher (Debian's Open MPI speaks PMIx, not Slurm's PMI-2) starts each process as a job of its own, and N
     * one-process runs would each train alone and write as rank 0.
     */
    static void requireLaunchedSize(Map<String, String> env, int mpiSize) {
        for (String name : List.of("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS")) {
            String value = env.get(name);
            if (value != null && value.matches("[0-9]+")) {
                if (Integer.parseInt(value) != mpiSize) {
                    throw new IllegalStateException("MPI: the launcher started " + value + " processes (" + name + "="
                        + value + ") but MPI joined " + mpiSize + "; with Slurm use srun --mpi=pmix, which Open MPI"
                        + " speaks (srun --mpi=list shows what the cluster has)");
                }
                return;
            }
        }
    }

    /** Finalizes MPI if {@link #world()} started it; the last thing a rank does before it exits normally. */
    public static synchronized void finish() {
        if (world != null && world.mpi != null) {
            world.mpi.finish();
        }
    }

    /**
     * Ends the whole job after {@code failure} on this rank, so that no other rank waits in a collective for it:
     * prints the error naming the rank, then MPI_Abort. Does nothing in a single process.
     */
    public static void abortOnFailure(Throwable failure) {
        abortOnFailure(String.valueOf(failure));
    }

    /** {@link #abortOnFailure(Throwable)} with the failure given as text. */
    public static void abortOnFailure(String failure) {
        ProcessGroup w;
        synchronized (ProcessGroup.class) {
            w = world;
        }
        if (w == null || w.mpi == null || w.size() == 1) {
            return;
        }
        System.err.println("spindle: rank " + w.rank() + " of " + w.size() + " failed, ending the job: " + failure);
        System.err.flush();
        w.mpi.abort(1);
    }

    public int rank() {
        return mpi == null ? 0 : mpi.rank();
    }

    public int size() {
        return mpi == null ? 1 : mpi.size();
    }

    /** True on rank 0, the one that writes checkpoints, logs and outputs. */
    public boolean isMain() {
        return rank() == 0;
    }

    /** Sums {@code a} (float or double, contiguous) over the ranks, in place. */
    public void allReduceSum(INDArray a) {
        allReduceSum(a, 0, a.length());
    }

    /** Sums elements [from, from + count) of {@code a} (float or double, contiguous) over the ranks, in place. */
    public void allReduceSum(INDArray a, long from, long count) {
        if (mpi != null && count > 0) {
            requireContiguous(a, "allReduceSum");
            mpi.allReduceSum(address(a) + from * a.data().getElementSize(), count, a.dataType() == DataType.DOUBLE);
        }
    }

    /** The element-wise sum of {@code values} over the ranks (a copy; exact for integers below 2^53). */
    public double[] allReduceSum(double[] values) {
        if (mpi == null || values.length == 0) {
            return values.clone();
        }
        Memory m = new Memory(8L * values.length);
        m.write(0, values, 0, values.length);
        mpi.allReduceSum(Pointer.nativeValue(m), values.length, true);
        double[] out = new double[values.length];
        m.read(0, out, 0, out.length);
        return out;
    }

    /**
     * Every rank's share of a list of texts, on every rank: slot {@code i} belongs to rank {@code i % size()}, which
     * gives its text in {@code mine[i]} (the other ranks' entries are ignored and may be null). Returns all the slots,
     * the same on every rank.
     */
    public String[] shareByRank(String[] mine) {
        if (mpi == null) {
            return mine.clone();
        }
        double[] lengths = new double[mine.length];
        for (int i = rank(); i < mine.length; i += size()) {
            lengths[i] = mine[i].length();
        }
        lengths = allReduceSum(lengths);
        int[] from = new int[mine.length + 1];
        for (int i = 0; i < mine.length; i++) {
            from[i + 1] = from[i] + (int) lengths[i];
        }
        double[] chars = new double[from[mine.length]];
        for (int i = rank(); i < mine.length; i += size()) {
            for (int k = 0; k < mine[i].length(); k++) {
                chars[from[i] + k] = mine[i].charAt(k);
            }
        }
        chars = allReduceSum(chars);   // each character has one nonzero term: exact
        String[] all = new String[mine.length];
        for (int i = 0; i < mine.length; i++) {
            StringBuilder text = new StringBuilder(from[i + 1] - from[i]);
            for (int k = from[i]; k < from[i + 1]; k++) {
                text.append((char) chars[k]);
            }
            all[i] = text.toString();
        }
        return all;
    }

    /** Overwrites {@code a} (float or double) on every rank with rank 0's values. */
    public void broadcast(INDArray a) {
        if (mpi == null || a.length() == 0) {
            return;
        }
        if (isContiguous(a)) {
            mpi.broadcast(address(a), a.length(), a.dataType() == DataType.DOUBLE, 0);
        } else {
            INDArray copy = a.dup('c');
            mpi.broadcast(address(copy), copy.length(), copy.dataType() == DataType.DOUBLE, 0);
            a.assign(copy);
        }
    }

    /** Returns once every rank has called it. */
    public void barrier() {
        if (mpi != null) {
            mpi.barrier();
        }
    }

    private static long address(INDArray a) {
        return a.data().address() + a.offset() * a.data().getElementSize();
    }

    private static boolean isContiguous(INDArray a) {
        return (a.dataType() == DataType.FLOAT || a.dataType() == DataType.DOUBLE)
            && a.ordering() == 'c' && Shape.hasDefaultStridesForShape(a);
    }

    private static void requireContiguous(INDArray a, String what) {
        if (!isContiguous(a)) {
            throw new IllegalArgumentException(what + ": needs a contiguous float or double array, got " + a.dataType()
                + " " + Arrays.toString(a.shape()) + " with strides " + Arrays.toString(a.stride()));
        }
    }
}
