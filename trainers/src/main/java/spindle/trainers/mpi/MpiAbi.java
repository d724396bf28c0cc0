// SPDX-License-Identifier: Apache-2.0
package spindle.trainers.mpi;

/**
 * What differs between MPI implementations at the binary level: the library to load, the exported globals whose
 * addresses are the predefined handles, and the constants passed by value. The C API's functions themselves
 * ({@code MPI_Allreduce}, ...) have the same names and signatures everywhere; another implementation (MPICH, whose
 * handles are integers) joins as another table here.
 *
 * @param library the shared library, loaded with RTLD_GLOBAL so the implementation's plugins find its symbols
 * @param commWorld global whose address is MPI_COMM_WORLD
 * @param floatType global whose address is MPI_FLOAT
 * @param doubleType global whose address is MPI_DOUBLE
 * @param sumOp global whose address is MPI_SUM
 * @param inPlace the value of MPI_IN_PLACE
 * @param threadSerialized the value of MPI_THREAD_SERIALIZED
 * @param threadMultiple the value of MPI_THREAD_MULTIPLE
 */
public record MpiAbi(String library, String commWorld, String floatType, String doubleType, String sumOp,
                     long inPlace, int threadSerialized, int threadMultiple) {

    /** Open MPI 4.x and 5.x (Debian's libopenmpi3 ships libmpi.so.40): handles are addresses of its globals. */
    public static final MpiAbi OPEN_MPI = new MpiAbi("libmpi.so.40", "ompi_mpi_comm_world", "ompi_mpi_float",
        "ompi_mpi_double", "ompi_mpi_op_sum", 1L, 2, 3);

    /** A copy that loads {@code path} instead (another install location, or a test of a missing library). */
    public MpiAbi withLibrary(String path) {
        return new MpiAbi(path, commWorld, floatType, doubleType, sumOp, inPlace, threadSerialized, threadMultiple);
    }
}
