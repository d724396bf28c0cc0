// SPDX-License-Identifier: Apache-2.0
package spindle.trainers.mpi;

import com.sun.jna.Function;
import com.sun.jna.Library;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import java.util.Map;

/**
 * MPI's C API on MPI_COMM_WORLD, called through JNA: the few collectives data-parallel training needs. Buffers are
 * native addresses (ND4J's off-heap arrays are passed as they are, without a copy). Loaded only when a launcher
 * started this process ({@link #launched()}), so a run without MPI needs no MPI library.
 */
public final class Mpi {
    private static final int RTLD_NOW = 0x2;
    private static final int RTLD_GLOBAL = 0x100;
    private static final int MAX_COUNT = Integer.MAX_VALUE;

    private final MpiAbi abi;
    private final NativeLibrary lib;
    private final Pointer comm;
    private final Pointer floatType;
    private final Pointer doubleType;
    private final Pointer sum;
    private final int rank;
    private final int size;
    private boolean finalized;

    private Mpi(MpiAbi abi, NativeLibrary lib) {
        this.abi = abi;
        this.lib = lib;
        comm = lib.getGlobalVariableAddress(abi.commWorld());
        floatType = lib.getGlobalVariableAddress(abi.floatType());
        doubleType = lib.getGlobalVariableAddress(abi.doubleType());
        sum = lib.getGlobalVariableAddress(abi.sumOp());
        IntByReference provided = new IntByReference();
        check("MPI_Init_thread", call("MPI_Init_thread", null, null, abi.threadMultiple(), provided));
        if (provided.getValue() < abi.threadSerialized()) {
            throw new IllegalStateException("MPI: " + abi.library() + " gives thread level " + provided.getValue()
                + ", but Spindle calls MPI from a communication thread and needs at least MPI_THREAD_SERIALIZED");
        }
        IntByReference value = new IntByReference();
        check("MPI_Comm_rank", call("MPI_Comm_rank", comm, value));
        rank = value.getValue();
        check("MPI_Comm_size", call("MPI_Comm_size", comm, value));
        size = value.getValue();
    }

    /**
     * True when mpirun or srun started this process as one rank of an MPI job: Open MPI's mpirun sets
     * OMPI_COMM_WORLD_SIZE, Slurm's srun --mpi=pmix or pmi2 sets PMIX_RANK or PMI_SIZE.
     */
    public static boolean launched() {
        return System.getenv("OMPI_COMM_WORLD_SIZE") != null || System.getenv("PMIX_RANK") != null
            || System.getenv("PMI_SIZE") != null;
    }

    /**
     * Loads {@code abi}'s library and initializes MPI; a library that cannot be loaded is an error that says MPI is
     * missing and how to install it.
     */
    public static Mpi start(MpiAbi abi) {
        NativeLibrary lib;
        try {
            lib = NativeLibrary.getInstance(abi.library(), Map.of(Library.OPTION_OPEN_FLAGS, RTLD_NOW | RTLD_GLOBAL));
        } catch (UnsatisfiedLinkError e) {
            throw new IllegalStateException("MPI is missing: this process was started by mpirun/srun but "
                + abi.library() + " cannot be loaded (install Open MPI: apt-get install openmpi-bin libopenmpi3,"
                + " or set SPINDLE_MPI_LIBRARY to its libmpi path): " + e.getMessage(), e);
        }
        return new Mpi(abi, lib);
    }

    public int rank() {
        return rank;
    }

    public int size() {
        return size;
    }

    /** Sums {@code count} floats (or doubles) at {@code address} over all ranks, in place, on every rank. */
    public void allReduceSum(long address, long count, boolean doubles) {
        int bytes = doubles ? 8 : 4;
        for (long done = 0; done < count; done += MAX_COUNT) {
            int n = (int) Math.min(MAX_COUNT, count - done);
            check("MPI_Allreduce", call("MPI_Allreduce", new Pointer(abi.inPlace()), new Pointer(address + done * bytes),
                n, doubles ? doubleType : floatType, sum, comm));
        }
    }

    /** Copies {@code count} floats (or doubles) at {@code address} from rank {@code root} to every other rank. */
    public void broadcast(long address, long count, boolean doubles, int root) {
        int bytes = doubles ? 8 : 4;
        for (long done = 0; done < count; done += MAX_COUNT) {
            int n = (int) Math.min(MAX_COUNT, count - done);
            check("MPI_Bcast", call("MPI_Bcast", new Pointer(address + done * bytes), n,
                doubles ? doubleType : floatType, root, comm));
        }
    }

    public void barrier() {
        check("MPI_Barrier", call("MPI_Barrier", comm));
    }

    /** Ends every rank of the job with {@code code} (mpirun reports which rank called it); does not return. */
    public void abort(int code) {
        call("MPI_Abort", comm, code);
    }

    /** Finalizes MPI, once; mpirun counts a rank that exits without it as failed. */
    public synchronized void finish() {
        if (!finalized) {
            finalized = true;
            check("MPI_Finalize", call("MPI_Finalize"));
        }
    }

    private int call(String name, Object... args) {
        Function f = lib.getFunction(name);
        return f.invokeInt(args);
    }

    private void check(String name, int code) {
        if (code != 0) {
            throw new IllegalStateException(name + " failed on rank " + rank + " with MPI error code " + code);
        }
    }
}
