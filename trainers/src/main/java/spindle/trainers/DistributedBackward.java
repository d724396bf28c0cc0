// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.autograd.Autograd;
import spindle.autograd.Memory;
import spindle.autograd.Tensor;
import spindle.data.Batch;
import spindle.optim.Optimizer;
import spindle.trainers.mpi.BucketAllReduce;
import spindle.trainers.mpi.GradientBuckets;
import spindle.trainers.mpi.ProcessGroup;

/**
 * Forward and backward of a training step across processes: inside this process the micro-batch is split over
 * {@link DataParallel}'s replica threads; across the {@link ProcessGroup}'s ranks the gradients of the step's last
 * micro-batch are summed bucket by bucket while backward runs ({@link BucketAllReduce}), then the step's loss,
 * token count, auxiliary values and failures are summed, so every rank installs the same gradient and stops at
 * the same step. Each rank's gradients are divided by the world size: N ranks with B/N rows each train as one
 * process with B rows. With one process it is {@link DataParallel} alone.
 */
public final class DistributedBackward implements AutoCloseable {
    /**
     * The all-reduce bucket size: PyTorch DDP's and Horovod's 25 MB, or SPINDLE_BUCKET_MB (a model smaller than one
     * bucket sends its whole gradient after backward; smaller buckets let more of it overlap backward). Read on each
     * call, so a bad value is an IllegalArgumentException naming the variable where training starts.
     */
    public static long bucketBytes() {
        return bucketBytes(System.getenv("SPINDLE_BUCKET_MB"));
    }

    static long bucketBytes(String megabytes) {
        if (megabytes == null || megabytes.isBlank()) {
            return 25L << 20;
        }
        try {
            double mb = Double.parseDouble(megabytes.trim());
            if (mb > 0) {
                return Math.max(1, (long) (mb * (1 << 20)));
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("SPINDLE_BUCKET_MB must be a positive number of megabytes, got '" + megabytes + "'");
    }

    private final List<Tensor> parameters;
    private final ProcessGroup group;
    private final DataParallel local;
    private final INDArray flat;              // this rank's gradients, then their sum over the ranks
    private final List<INDArray> views;       // parameter i's part of flat
    private final BucketAllReduce reducer;
    private boolean[] reached;                // this step's backward reached parameter i on this rank
    private boolean stepOpen;
    private boolean roundStarted;

    /** The step's totals over all ranks: the mean loss, all counted tokens, the mean auxiliary values. */
    public record Totals(double loss, long tokens, Map<String, Double> aux) {}

    public DistributedBackward(List<Tensor> parameters, int replicas, ProcessGroup group, long bucketBytes) {
        this.parameters = List.copyOf(parameters);
        this.group = group;
        this.local = new DataParallel(this.parameters, replicas);
        if (group.size() == 1) {
            flat = null;
            views = List.of();
            reducer = null;
            return;
        }
        long[] lengths = this.parameters.stream().mapToLong(p -> p.value().length()).toArray();
        flat = Nd4j.create(this.parameters.get(0).dtype(), Math.max(1, Arrays.stream(lengths).sum()));
        views = new ArrayList<>();
        long offset = 0;
        for (int i = 0; i < lengths.length; i++) {
            views.add(flat.get(NDArrayIndex.interval(offset, offset + lengths[i])).reshape('c', this.parameters.get(i).shape()));
            offset += lengths[i];
        }
        int elementBytes = flat.data().getElementSize();
        reducer = new BucketAllReduce(group, flat, new GradientBuckets(lengths, GradientBuckets.capacityFor(bucketBytes,
            elementBytes)));
    }

    public ProcessGroup group() {
        return group;
    }

    /**
     * {@link DataParallel#backward(Batch, double, Function)} on this rank's {@code batch}; the step's last micro-batch
     * ({@code lastOfStep}) also sums the gradients over the ranks while its backward runs. A failure (a non-finite
     * loss, say) still takes part in the step's collectives, flagged, before it is rethrown, so no rank waits for
     * this one; the others then stop in {@link #finishStep}.
     */
    public double backward(Batch batch, double gradScale, boolean lastOfStep, Function<Batch, Tensor> loss) {
        if (group.size() == 1) {
            return local.backward(batch, gradScale, loss);
        }
        if (!stepOpen) {
            flat.assign(0);
            reached = new boolean[parameters.size()];
            stepOpen = true;
            roundStarted = false;
        }
        try {
            double scale = gradScale / group.size();
            return local.replicas() == 1 ? intoFlat(batch, scale, lastOfStep, loss) : viaReplicas(batch, scale, lastOfStep, loss);
        } catch (RuntimeException | Error e) {
            endStepAfter(e);
            throw e;
        }
    }

    /** One replica: backward straight into the flat buffer, telling the reducer each finished parameter. */
    private double intoFlat(Batch batch, double scale, boolean last, Function<Batch, Tensor> loss) {
        Tensor value = loss.apply(batch);
        if (value.value().length() != 1) {
            throw new IllegalArgumentException("DistributedBackward: the loss must be a one-element tensor");
        }
        double v = value.item();
        INDArray seed = Nd4j.valueArrayOf(value.shape(), scale, value.dtype());
        if (last) {
            startRound();
        }
        boolean[] r = Autograd.backwardInto(value, seed, parameters, views, last ? reducer::completed : null);
        Memory.release(seed);
        for (int i = 0; i < r.length; i++) {
            reached[i] |= r[i];
        }
        if (last) {
            reducer.completedAll();
        }
        return v;
    }

    /** Several replicas: they sum into {@code .grad}; the last micro-batch copies it to the buffer and reduces it all. */
    private double viaReplicas(Batch batch, double scale, boolean last, Function<Batch, Tensor> loss) {
        double v = local.backward(batch, scale, loss);
        if (last) {
            for (int i = 0; i < parameters.size(); i++) {
                INDArray g = parameters.get(i).grad();
                reached[i] = g != null;
                if (g == null) {
                    views.get(i).assign(0);
                } else {
                    views.get(i).assign(g);
                }
            }
            startRound();
            reducer.completedAll();
        }
        return v;
    }

    private void startRound() {
        reducer.begin();
        roundStarted = true;
    }

    /** Ends this rank's share of the step's collectives after {@code failure}, flagged for the other ranks. */
    private void endStepAfter(Throwable failure) {
        if (!roundStarted) {
            startRound();
        }
        reducer.completedAll();
        reducer.await();
        double[] stats = new double[group.size() + 2 + parameters.size()];
        stats[group.rank()] = StepFailures.code(failure);
        group.allReduceSum(stats);
        stepOpen = false;
    }

    /**
     * Ends the step: waits for the gradient sums, sums the step's values over the ranks and installs the summed
     * gradients in {@code .grad} (a parameter no rank's backward reached keeps none). If any rank failed during
     * the step, throws on every rank: a {@link NonFiniteException} naming the rank for a non-finite loss.
     */
    public Totals finishStep(long step, double loss, long tokens, Map<String, Double> aux) {
        if (group.size() == 1) {
            return new Totals(loss, tokens, aux);
        }
        reducer.await();
        int w = group.size();
        double[] stats = new double[w + 2 + parameters.size()];
        stats[w] = loss;
        stats[w + 1] = tokens;
        for (int i = 0; i < parameters.size(); i++) {
            stats[w + 2 + i] = reached[i] ? 1 : 0;
        }
        double[] total = group.allReduceSum(stats);
        stepOpen = false;
        StepFailures.throwIfAny(total, w, step);
        for (int i = 0; i < parameters.size(); i++) {
            if (total[w + 2 + i] > 0) {
                install(parameters.get(i), views.get(i));
            }
        }
        return new Totals(total[w] / w, Math.round(total[w + 1]), meanOverRanks(aux));
    }

    private static void install(Tensor p, INDArray summed) {
        if (p.grad() == null) {
            p.addToGrad(summed);
        } else {
            p.grad().assign(summed);
        }
    }

    private Map<String, Double> meanOverRanks(Map<String, Double> aux) {
        if (aux.isEmpty()) {
            return aux;
        }
        double[] values = aux.values().stream().mapToDouble(Double::doubleValue).toArray();
        double[] total = group.allReduceSum(values);
        Map<String, Double> mean = new LinkedHashMap<>();
        int k = 0;
        for (String key : aux.keySet()) {
            mean.put(key, total[k++] / group.size());
        }
        return mean;
    }

    /** {@link DataParallel#step(Optimizer)}: every rank applies the same summed gradient. */
    public void step(Optimizer optimizer) {
        local.step(optimizer);
    }

    /** Bytes summed over the ranks per step (0 with one process). */
    public long bytesPerStep() {
        return reducer == null ? 0 : reducer.bytesPerRound();
    }

    /** The last step's seconds inside MPI_Allreduce on the communication thread (0 with one process). */
    public double lastCommSeconds() {
        return reducer == null ? 0 : reducer.commSeconds();
    }

    /** The last step's seconds the training thread waited for the all-reduce after backward (0 with one process). */
    public double lastWaitSeconds() {
        return reducer == null ? 0 : reducer.waitSeconds();
    }

    @Override
    public void close() {
        local.close();
        if (reducer != null) {
            reducer.close();
            Memory.release(flat);
        }
    }
}
