// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.nativeblas.NativeOpsHolder;
import spindle.autograd.AnomalyMode;
import spindle.autograd.Autograd;
import spindle.autograd.Memory;
import spindle.autograd.Tensor;
import spindle.data.Batch;
import spindle.optim.Lanes;
import spindle.optim.Optimizer;

/**
 * Data parallelism inside one JVM: replica threads share the parameters, each runs forward and backward on
 * its slice of the batch into its own flat gradient buffer (one view per parameter), and the buffers are summed
 * in replica order into the parameters' {@code .grad}, so the optimizer steps once. A parameter that no
 * replica's backward reached keeps a null {@code .grad}, as after a plain backward.
 *
 * <p>As PyTorch's DistributedDataParallel, each replica's loss is its own slice's loss (a mean over that slice,
 * and any auxiliary loss, such as MoE balance, computed over that slice) and the gradients are averaged over
 * replicas, weighted by the rows each took; with equal slices this is DDP's plain average. On a small machine
 * it also beats intra-op threading: each replica runs its ops on {@code cores / replicas} threads, so a 2-core
 * machine runs two single-threaded streams of ops instead of handing every small op to a second thread.
 *
 * <pre>{@code
 * try (DataParallel dp = new DataParallel(model.trainableParameters().values(), 2)) {
 *     double loss = dp.backward(batch, part -> objective.loss(part).loss());
 *     dp.step(optimizer);   // or optimizer.step()
 *     optimizer.zeroGrad();
 * }
 * }</pre>
 */
public final class DataParallel implements AutoCloseable {
    private static final ThreadLocal<Integer> CURRENT = new ThreadLocal<>();   // see currentReplica()
    private final List<Tensor> parameters;
    private final int replicas;
    private final ExecutorService threads;
    private final INDArray[] flat;               // one gradient buffer per replica
    private final List<List<INDArray>> views;    // views.get(r).get(i): parameter i's gradient in flat[r]
    private final List<List<Integer>> lanes;     // the parameters each replica thread sums into .grad
    private final boolean[][] reached;           // reached[r][i]: replica r's last backward reached parameter i
    private final String[] culprits;             // the first non-finite op of replica r's last backward, or null
    private final int threadsPerReplica;
    private final int previousBlasThreads;       // restored by close()

    /**
     * Replicas over {@code parameters} (all of one dtype). Each replica thread runs ND4J's ops on ND4J's thread
     * count divided by {@code replicas} (at least 1), and so do BLAS calls, from any thread, until {@link #close()}.
     * One replica needs no thread, buffer or thread setting of its own: it is the calling thread.
     */
    public DataParallel(Iterable<Tensor> parameters, int replicas) {
        if (replicas < 1) {
            throw new IllegalArgumentException("DataParallel: replicas must be at least 1 but is " + replicas);
        }
        this.parameters = new ArrayList<>();
        parameters.forEach(this.parameters::add);
        this.replicas = replicas;
        this.flat = new INDArray[replicas];
        this.reached = new boolean[replicas][];
        this.culprits = new String[replicas];
        this.views = new ArrayList<>();
        threadsPerReplica = Math.max(1, Nd4j.getEnvironment().maxThreads() / replicas);
        previousBlasThreads = Nd4j.factory().blas().getMaxThreads();
        if (replicas == 1) {
            lanes = List.of();
            threads = null;
            return;
        }
        long total = checkParameters();
        for (int r = 0; r < replicas; r++) {
            flat[r] = Nd4j.create(this.parameters.get(0).dtype(), total);
            views.add(viewsInto(flat[r]));
        }
        lanes = Lanes.deal(this.parameters.stream().map(p -> p.value().length()).toList(), replicas);
        Nd4j.factory().blas().setMaxThreads(threadsPerReplica);   // OpenBLAS has one, process-wide, setting
        this.threads = Executors.newFixedThreadPool(replicas, task -> {
            Thread t = new Thread(() -> {
                // ND4J's OpenMP thread count is per calling thread, so each replica thread sets its own
                NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(threadsPerReplica);
                task.run();
            }, "spindle-replica");
            t.setDaemon(true);
            return t;
        });
    }

    /** The elements of all parameters, after checking that none is listed twice and all share one dtype. */
    private long checkParameters() {
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int i = 0; i < parameters.size(); i++) {
            if (!seen.add(parameters.get(i))) {
                throw new IllegalArgumentException("DataParallel: parameter " + i + " is listed twice");
            }
        }
        if (parameters.isEmpty()) {
            throw new IllegalArgumentException("DataParallel: no parameters to train");
        }
        DataType dtype = parameters.get(0).dtype();
        long total = 0;
        for (Tensor p : parameters) {
            if (p.dtype() != dtype) {
                throw new IllegalArgumentException("DataParallel: parameters must share one dtype for the flat gradient"
                    + " buffer, but " + dtype + " and " + p.dtype() + " " + Arrays.toString(p.shape()) + " are mixed");
            }
            total += p.value().length();
        }
        return total;
    }

    public int replicas() {
        return replicas;
    }

    /**
     * The index of the replica whose forward or backward runs on the calling thread, 0 outside them (one replica
     * runs on the calling thread). The pool's threads take replicas in any order, so a per-replica stream of
     * randomness is keyed by this, not by the thread.
     */
    public static int currentReplica() {
        Integer r = CURRENT.get();
        return r == null ? 0 : r;
    }

    /** ND4J (OpenMP) and BLAS threads each replica runs its ops on. */
    public int threadsPerReplica() {
        return threadsPerReplica;
    }

    /** {@link #backward(Batch, double, Function)} with the gradients unscaled. */
    public double backward(Batch batch, Function<Batch, Tensor> loss) {
        return backward(batch, 1.0, loss);
    }

    /**
     * Splits {@code batch} along dim 0 into one contiguous slice per replica, runs {@code loss} on each slice on its
     * replica's thread, backpropagates each loss weighted by its slice's share of the rows times {@code gradScale}
     * (1 / micro-batches, for gradient accumulation), and adds the summed gradients to the parameters' {@code .grad}.
     * Returns the losses' mean, weighted by the rows. One replica runs on the calling thread and backpropagates
     * straight into {@code .grad}; a batch of fewer rows than replicas leaves the replicas without a row idle.
     * If a replica's forward or backward fails, its exception is rethrown once every replica has finished, and
     * no gradient is added.
     * The calling thread's {@link AnomalyMode} holds on the replica threads too, through forward and backward, and
     * the first non-finite op a replica found becomes the calling thread's (see {@link AnomalyMode#noteFirst}).
     */
    public double backward(Batch batch, double gradScale, Function<Batch, Tensor> loss) {
        long rows = checkBatch(batch);
        if (replicas == 1) {
            return onThisThread(batch, gradScale, loss);
        }
        boolean anomalyOn = AnomalyMode.isEnabled();   // per thread: carried to the replicas
        List<Future<Double>> running = new ArrayList<>();
        for (int r = 0; r < replicas; r++) {
            long from = rows * r / replicas;
            long to = rows * (r + 1) / replicas;
            int replica = r;
            running.add(threads.submit(() -> replicaBackward(replica, from == to ? null : slice(batch, from, to),
                (double) (to - from) / rows, gradScale, loss, anomalyOn)));
        }
        double total = 0;
        for (double value : await(running)) {
            total += value;
        }
        for (int r = 0; r < replicas; r++) {
            if (culprits[r] != null) {
                AnomalyMode.noteFirst(culprits[r]);
            }
        }
        for (int r = 1; r < replicas; r++) {
            flat[0].addi(flat[r]);   // every parameter's replica sum in one op (replica order, as per parameter)
        }
        List<Future<Double>> summing = new ArrayList<>();
        for (List<Integer> lane : lanes) {
            summing.add(threads.submit(() -> addToGrads(lane)));
        }
        await(summing);
        return total;
    }

    /** The single replica: the loss of the whole batch, backpropagated into .grad as a plain backward. */
    private static double onThisThread(Batch batch, double gradScale, Function<Batch, Tensor> loss) {
        Tensor value = scalar(loss.apply(batch));
        double v = value.item();
        INDArray seed = gradScale == 1 ? null : Nd4j.valueArrayOf(value.shape(), gradScale, value.dtype());
        value.backward(seed);
        Memory.release(seed);
        return v;
    }

    /**
     * {@link Optimizer#step(ExecutorService, int)} on the replica threads, the parameters dealt out over them; with
     * one replica, {@link Optimizer#step()} on the calling thread.
     */
    public void step(Optimizer optimizer) {
        if (replicas == 1) {
            optimizer.step();
        } else {
            optimizer.step(threads, replicas);
        }
    }

    /** Adds the replicas' summed gradients of the lane's parameters into .grad. */
    private double addToGrads(List<Integer> lane) {
        for (int i : lane) {
            boolean any = false;
            for (int r = 0; r < replicas; r++) {
                any |= reached[r][i];
            }
            if (!any) {
                continue;   // as a plain backward: a parameter it does not reach gets no gradient
            }
            parameters.get(i).addToGrad(views.get(0).get(i));   // replica 0's buffer holds the sum
        }
        return 0;
    }

    /** The tasks' results once every task ended; the first failure is rethrown after all of them ended. */
    private static List<Double> await(List<Future<Double>> running) {
        List<Double> values = new ArrayList<>();
        Throwable failure = null;
        boolean interrupted = false;
        for (Future<Double> f : running) {
            while (true) {   // wait for every task even when interrupted: a running replica writes into our buffers
                try {
                    values.add(f.get());
                    break;
                } catch (ExecutionException e) {
                    failure = failure != null ? failure : e.getCause();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failure instanceof Error error) {
            throw error;
        }
        if (failure != null) {
            throw failure instanceof RuntimeException re ? re : new IllegalStateException("a replica failed: " + failure,
                failure);
        }
        return values;
    }

    /**
     * The replica's weighted loss value, after its weighted gradient went into its cleared buffer; a replica without
     * rows ({@code part} null) only clears its buffer.
     */
    private double replicaBackward(int r, Batch part, double weight, double gradScale, Function<Batch, Tensor> loss,
                                   boolean anomalyOn) {
        flat[r].assign(0);
        reached[r] = new boolean[parameters.size()];
        culprits[r] = null;
        if (part == null) {
            return 0;
        }
        CURRENT.set(r);
        try (AnomalyMode.Scope on = anomalyOn ? AnomalyMode.enable() : null) {
            AnomalyMode.clear();
            Tensor value = scalar(loss.apply(part));
            double v = value.item();
            INDArray seed = Nd4j.valueArrayOf(value.shape(), weight * gradScale, value.dtype());
            reached[r] = Autograd.backwardInto(value, seed, parameters, views.get(r));
            culprits[r] = AnomalyMode.firstNonFinite().orElse(null);
            Memory.release(seed);
            return v * weight;
        } finally {
            CURRENT.remove();
            Memory.release(part.inputs());
            Memory.release(part.targets());
        }
    }

    private static Tensor scalar(Tensor loss) {
        if (loss.value().length() != 1) {
            throw new IllegalArgumentException("DataParallel: the loss must be a one-element tensor but has shape "
                + Arrays.toString(loss.shape()));
        }
        return loss;
    }

    private static long checkBatch(Batch batch) {
        INDArray x = batch.inputs();
        INDArray y = batch.targets();
        if (x.rank() == 0 || y.rank() == 0 || x.size(0) != y.size(0)) {
            throw new IllegalArgumentException("DataParallel: inputs and targets need the same dim 0, but inputs are "
                + Arrays.toString(x.shape()) + " and targets " + Arrays.toString(y.shape()));
        }
        long rows = x.size(0);
        if (rows == 0) {
            throw new IllegalArgumentException("DataParallel: the batch has no row");
        }
        return rows;
    }

    /** Rows [from, to) of the batch, copies the replica owns. */
    private static Batch slice(Batch batch, long from, long to) {
        return new Batch(rows(batch.inputs(), from, to), rows(batch.targets(), from, to));
    }

    private static INDArray rows(INDArray a, long from, long to) {
        return a.get(rowsIndex(a.rank(), from, to)).dup('c');
    }

    private static INDArrayIndex[] rowsIndex(int rank, long from, long to) {
        INDArrayIndex[] index = new INDArrayIndex[rank];
        index[0] = NDArrayIndex.interval(from, to);
        for (int d = 1; d < rank; d++) {
            index[d] = NDArrayIndex.all();
        }
        return index;
    }

    private List<INDArray> viewsInto(INDArray buffer) {
        List<INDArray> list = new ArrayList<>();
        long offset = 0;
        for (Tensor p : parameters) {
            long n = p.value().length();
            list.add(buffer.get(NDArrayIndex.interval(offset, offset + n)).reshape('c', p.shape()));
            offset += n;
        }
        return list;
    }

    /** Stops the replica threads, frees the gradient buffers and restores the BLAS thread count. */
    @Override
    public void close() {
        if (threads == null) {
            return;   // one replica: nothing of its own to free
        }
        threads.shutdown();
        try {
            if (!threads.awaitTermination(10, TimeUnit.MINUTES)) {
                throw new IllegalStateException("DataParallel.close: a replica thread is still running after 10 minutes;"
                    + " its gradient buffer is not freed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;   // the buffers stay for the garbage collector rather than freed under a running replica
        }
        for (INDArray f : flat) {
            Memory.release(f);
        }
        Nd4j.factory().blas().setMaxThreads(previousBlasThreads);
    }
}
