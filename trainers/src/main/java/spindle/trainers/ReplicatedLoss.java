// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Elementwise;
import spindle.data.Batch;
import spindle.optim.Optimizer;

/**
 * The {@link Trainer}'s micro-batch when it runs data-parallel: the objective runs on each replica thread on
 * its rows of the batch (see {@link DataParallel}), with the trainer's NaN check of the loss there. The detector
 * runs on the replica threads, so a non-finite loss names its op; a non-finite gradient norm, found after the
 * replicas are done, names only the step (the tape's detector keeps what it saw per thread).
 */
final class ReplicatedLoss implements AutoCloseable {
    private final DataParallel parallel;
    private final Objective objective;
    private final AnomalyDetector anomaly;
    private final AtomicLong peakRss = new AtomicLong();

    ReplicatedLoss(Optimizer optimizer, Objective objective, AnomalyDetector anomaly, int replicas) {
        this.parallel = new DataParallel(optimizer.parameters().stream().filter(Tensor::requiresGrad).toList(), replicas);
        this.objective = objective;
        this.anomaly = anomaly;
    }

    /**
     * Backpropagates the micro-batch's loss divided by {@code n} (the micro-batches per step) and returns the
     * loss: the replicas' losses weighted by their rows. A non-finite loss of any replica throws, naming the
     * step, before any gradient is added. Auxiliary values go into {@code aux} the same way, divided by n.
     */
    double backward(Batch batch, long stepNumber, String what, int n, Map<String, Double> aux) {
        long rows = batch.size();
        anomaly.beginMicroBatch();   // on this thread too, so a later gradient-norm error names no stale op
        Map<String, Double> replicaAux = Collections.synchronizedMap(new LinkedHashMap<>());
        double scaled = parallel.backward(new INDArray[] {batch.inputs(), batch.targets()}, part -> {
            StepLoss out = Trainer.finiteLoss(objective, anomaly, new Batch(part[0], part[1]), stepNumber, what);
            double share = (double) part[0].size(0) / rows;
            out.aux().forEach((k, v) -> replicaAux.merge(k, v * share / n, Double::sum));
            peakRss.accumulateAndGet(Rss.currentBytes(), Math::max);   // activations are alive now
            return n == 1 ? out.loss() : Elementwise.mulScalar(out.loss(), 1.0 / n);
        });
        replicaAux.forEach((k, v) -> aux.merge(k, v, Double::sum));
        return scaled * n;
    }

    /** The optimizer's step, its parameters dealt out over the replica threads. */
    void step(Optimizer optimizer) {
        parallel.step(optimizer);
    }

    /** The largest resident set seen with a replica's activations alive. */
    long peakRss() {
        return peakRss.get();
    }

    @Override
    public void close() {
        parallel.close();
    }
}
