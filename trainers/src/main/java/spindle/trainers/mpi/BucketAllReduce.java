// SPDX-License-Identifier: Apache-2.0
package spindle.trainers.mpi;

import java.util.Arrays;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Sums a flat gradient buffer over the ranks bucket by bucket on a communication thread, each bucket as soon as
 * the parameters overlapping it are complete, while backward goes on writing earlier layers' gradients (the
 * Horovod and PyTorch DDP design). The thread takes the buckets strictly in order 0, 1, ... with a blocking
 * MPI_Allreduce, so every rank issues the same collectives in the same order whatever order its own backward
 * completes parameters in (Open MPI 4.1's non-blocking collectives make no progress in the background).
 */
public final class BucketAllReduce implements AutoCloseable {
    private final ProcessGroup group;
    private final INDArray flat;
    private final GradientBuckets buckets;
    private final ExecutorService thread;
    private final int[] waitingOn;       // per bucket: parameters not yet complete
    private final boolean[] complete;    // per parameter
    private Future<?> running;
    private long commNanos;              // this step: inside MPI_Allreduce
    private long waitNanos;              // this step: the caller blocked in await()

    public BucketAllReduce(ProcessGroup group, INDArray flat, GradientBuckets buckets) {
        this.group = group;
        this.flat = flat;
        this.buckets = buckets;
        this.waitingOn = new int[buckets.size()];
        this.complete = new boolean[buckets.parameterCount()];
        this.thread = Executors.newSingleThreadExecutor(task -> {
            Thread t = new Thread(task, "spindle-allreduce");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts a round: no parameter is complete; the thread reduces each bucket once its parameters are. */
    public synchronized void begin() {
        if (running != null) {
            throw new IllegalStateException("BucketAllReduce.begin: the previous round was not awaited");
        }
        Arrays.fill(complete, false);
        for (int b = 0; b < buckets.size(); b++) {
            waitingOn[b] = buckets.parametersOf(b).length;
        }
        commNanos = 0;
        waitNanos = 0;
        running = thread.submit(this::reduceInOrder);
    }

    /** Parameter {@code i}'s gradient is final for this round (called from the backward thread; repeats are ignored). */
    public synchronized void completed(int i) {
        if (complete[i]) {
            return;
        }
        complete[i] = true;
        for (int b : buckets.bucketsOf(i)) {
            waitingOn[b]--;
        }
        notifyAll();
    }

    /** Every parameter is final (after backward, or after a failure, so the round still ends on every rank). */
    public void completedAll() {
        for (int i = 0; i < complete.length; i++) {
            completed(i);
        }
    }

    /** Waits until every bucket is summed over the ranks; rethrows the thread's failure. */
    public void await() {
        long started = System.nanoTime();
        Future<?> r;
        synchronized (this) {
            r = running;
        }
        if (r == null) {
            return;
        }
        try {
            r.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("gradient all-reduce failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the gradient all-reduce", e);
        } finally {
            synchronized (this) {
                running = null;
                waitNanos = System.nanoTime() - started;
            }
        }
    }

    private void reduceInOrder() {
        for (int b = 0; b < buckets.size(); b++) {
            synchronized (this) {
                while (waitingOn[b] > 0) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("the all-reduce thread was interrupted", e);
                    }
                }
            }
            long t = System.nanoTime();
            group.allReduceSum(flat, buckets.from(b), buckets.count(b));
            long spent = System.nanoTime() - t;
            synchronized (this) {
                commNanos += spent;
            }
        }
    }

    /** Seconds the last round spent inside MPI_Allreduce. */
    public synchronized double commSeconds() {
        return commNanos * 1e-9;
    }

    /** Seconds the caller of the last round's {@link #await()} waited: the communication backward did not hide. */
    public synchronized double waitSeconds() {
        return waitNanos * 1e-9;
    }

    /** Bytes one round sums (the whole buffer). */
    public long bytesPerRound() {
        return flat.length() * flat.data().getElementSize();
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
