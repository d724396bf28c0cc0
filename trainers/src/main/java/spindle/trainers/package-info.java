// SPDX-License-Identifier: Apache-2.0
/**
 * The training loop and what surrounds it: gradient accumulation, clipping, LR schedule, evaluation,
 * a NaN/Inf guard, atomic checkpoints with exact resume, and metric loggers (console progress bar, CSV,
 * TensorBoard event files, a PNG loss curve). A step means one optimizer step; a micro-batch is one
 * forward/backward of an accumulated step. {@link spindle.trainers.DataParallel} splits each micro-batch over
 * replica threads in this JVM: data parallelism inside one machine; {@link spindle.trainers.DistributedBackward}
 * adds the processes of an MPI job on top (package {@code spindle.trainers.mpi}), across machines.
 */
package spindle.trainers;
