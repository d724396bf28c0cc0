// SPDX-License-Identifier: Apache-2.0
/**
 * Data parallelism across processes on MPI: {@link spindle.trainers.mpi.Mpi} calls Open MPI's C API through JNA
 * (the binary details in {@link spindle.trainers.mpi.MpiAbi}), {@link spindle.trainers.mpi.ProcessGroup} is the job's
 * ranks (or this process alone, with no MPI library loaded), and {@link spindle.trainers.mpi.BucketAllReduce} sums a
 * flat gradient buffer over them in {@link spindle.trainers.mpi.GradientBuckets} while backward runs.
 */
package spindle.trainers.mpi;
