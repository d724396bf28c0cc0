// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

import static spindle.autograd.ops.Elementwise.div;
import static spindle.autograd.ops.Elementwise.mulScalar;
import static spindle.autograd.ops.Reductions.sum;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLongArray;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.shape.OneHot;
import org.nd4j.linalg.factory.Broadcast;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradMode;
import spindle.autograd.Memory;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Activations;
import spindle.autograd.ops.Indexing;
import spindle.autograd.ops.Linalg;
import spindle.autograd.ops.Softmax;
import spindle.autograd.ops.TopK;
import spindle.autograd.ops.TopKRouting;
import spindle.layers.AfterOptimizerStep;
import spindle.layers.Init;
import spindle.layers.Module;

/**
 * The MoE gate, Hugging Face's {@code mlp.gate}: logits = x Wᵀ with {@code weight} [E, hidden], scores =
 * softmax or sigmoid of the logits, and the top-K experts of each token.
 *
 * <p>Selection runs on the values, without gradient: key = scores (+ {@code e_score_correction_bias} when
 * loss-free balancing is on). With n_group > 1 a token first keeps its topk_group best groups and picks its K
 * experts among them. The group score is the sum of the group's two best keys for SIGMOID scoring (DeepSeek-V3)
 * and the group's best key for SOFTMAX scoring (DeepSeek-V2's group-limited greedy). The routing weights are the
 * unbiased scores of the chosen experts, divided by their sum when norm_topk_prob, times
 * routed_scaling_factor: they stay differentiable with respect to the gate weight and the input.
 *
 * <p>With loss-free balancing, the loads of every training forward (training mode, gradients on) are summed
 * until the next optimizer step, which moves the bias by {@link #updateBias}: data-parallel replicas and
 * micro-batches of one step all count, and an evaluation or generation does not.
 */
public final class Router extends Module implements AfterOptimizerStep {
    /** Added to the keys of experts outside a token's best groups: far below any score, so never chosen. */
    private static final double EXCLUDED = 1e30;

    private final ExpertDims dims;
    private final RouterOptions routing;
    private final double biasUpdateSpeed;
    private final Tensor weight;
    private final INDArray bias;
    /** Slots routed to each expert since the last optimizer step: integer sums, the same in any order of replicas. */
    private final AtomicLongArray stepLoad;

    /**
     * Routing of N tokens.
     *
     * @param logits [N, E] gate outputs (the z-loss input)
     * @param scores [N, E] softmax or sigmoid of the logits, without the balancing bias
     * @param indices [N, K] INT64 chosen experts, best first
     * @param weights [N, K] routing weights of the chosen experts
     */
    public record Routing(Tensor logits, Tensor scores, Tensor indices, Tensor weights) {}

    /**
     * The gate of {@code c}; its weight is filled by {@code init}. The persistent buffer
     * {@code e_score_correction_bias} [E] (zeros) exists only when aux_free_bias_update_speed > 0.
     */
    public Router(MoeConfig c, DataType dtype, Init init) {
        dims = c.dims();
        routing = c.routing();
        biasUpdateSpeed = c.balance().biasUpdateSpeed();
        weight = param("weight", init.create(dtype, dims.nRoutedExperts(), dims.hidden()));
        bias = biasUpdateSpeed > 0 ? buffer("e_score_correction_bias", Nd4j.zeros(dtype, dims.nRoutedExperts()), true)
            : null;
        stepLoad = bias == null ? null : new AtomicLongArray(dims.nRoutedExperts());
    }

    public Tensor weight() {
        return weight;
    }

    /** The loss-free balancing bias [E], or null when aux_free_bias_update_speed is 0. */
    public INDArray bias() {
        return bias;
    }

    /** x [N, hidden] → the routing of its N tokens. */
    public Routing route(Tensor x) {
        Tensor logits = Linalg.linear(x, weight, null);
        Tensor scores = routing.scoring() == RouterScore.SOFTMAX ? Softmax.softmax(logits, -1)
            : Activations.sigmoid(logits);
        if (routing.nGroup() <= 1 && TopKRouting.fits(scores, bias)) {   // one kernel: selection and weights
            TopKRouting.Result r = TopKRouting.route(scores, bias, dims.topK(), routing.normTopkProb(),
                routing.routedScalingFactor());
            return new Routing(logits, scores, Tensor.of(r.indices()), r.weights());
        }
        Tensor indices = Tensor.of(select(scores.value()));
        Tensor w = Indexing.gather(scores, 1, indices);
        if (routing.normTopkProb()) {
            w = div(w, sum(w, true, 1));
        }
        if (routing.routedScalingFactor() != 1) {
            w = mulScalar(w, routing.routedScalingFactor());
        }
        return new Routing(logits, scores, indices, w);
    }

    /**
     * Adds one forward's {@code routed} slots per expert to this step's load, when loss-free balancing is on and
     * the forward trains (training mode with gradients on). Safe to call from several replica threads at once.
     */
    void recordLoad(long[] routed) {
        if (stepLoad == null || !isTraining() || !GradMode.isEnabled()) {
            return;
        }
        for (int i = 0; i < routed.length; i++) {
            stepLoad.addAndGet(i, routed[i]);
        }
    }

    /** The load recorded since the last optimizer step (a copy), or null without loss-free balancing. */
    public long[] pendingLoad() {
        if (stepLoad == null) {
            return null;
        }
        long[] load = new long[stepLoad.length()];
        for (int i = 0; i < load.length; i++) {
            load[i] = stepLoad.get(i);
        }
        return load;
    }

    /**
     * Replaces the load recorded since the last optimizer step, e.g. by its sum over all data-parallel processes, so
     * that every process moves the bias by the same global load.
     */
    public void replacePendingLoad(long[] load) {
        if (stepLoad == null || load.length != stepLoad.length()) {
            throw new IllegalArgumentException("replacePendingLoad: " + (stepLoad == null ? "this router has no"
                + " loss-free balancing" : "load must have " + stepLoad.length() + " entries but has " + load.length));
        }
        for (int i = 0; i < load.length; i++) {
            stepLoad.set(i, load[i]);
        }
    }

    /** Moves the bias by the load recorded since the last optimizer step (see {@link #updateBias}), then clears it. */
    @Override
    public void afterOptimizerStep() {
        if (stepLoad == null) {
            return;
        }
        long[] load = new long[stepLoad.length()];
        for (int i = 0; i < load.length; i++) {
            load[i] = stepLoad.getAndSet(i, 0);
        }
        updateBias(load);
    }

    /**
     * DeepSeek-V3's loss-free balancing step: bias_i += gamma * sign(mean load - load_i), so an under-loaded
     * expert becomes more likely to be picked. The step is then shifted to zero mean (as torchtitan does; the
     * paper does not): the same shift of every key leaves the chosen experts as they are, and the bias keeps
     * the mean it started with instead of drifting. {@code load} is the number of slots routed to each expert,
     * summed over all data-parallel workers and micro-batches of one optimizer step; all zero changes nothing.
     */
    public void updateBias(long[] load) {
        if (bias == null) {
            throw new IllegalStateException("updateBias needs the loss-free balancing bias, which exists only when"
                + " aux_free_bias_update_speed > 0 (it is " + biasUpdateSpeed + ")");
        }
        int e = dims.nRoutedExperts();
        if (load == null || load.length != e) {
            throw new IllegalArgumentException("updateBias: load must have n_routed_experts = " + e
                + " entries but has " + (load == null ? "none (null)" : load.length));
        }
        double mean = Arrays.stream(load).asDoubleStream().sum() / e;
        double[] step = new double[e];
        for (int i = 0; i < e; i++) {
            step[i] = biasUpdateSpeed * Math.signum(mean - load[i]);
        }
        double centre = Arrays.stream(step).sum() / e;
        double[] b = bias.castTo(DataType.DOUBLE).toDoubleVector();
        for (int i = 0; i < e; i++) {
            b[i] += step[i] - centre;
        }
        bias.assign(Nd4j.createFromArray(b).castTo(bias.dataType()));
    }

    /** [N, E] scores → [N, K] INT64 indices of the chosen experts. */
    private INDArray select(INDArray scores) {
        try (GradMode.Scope off = GradMode.disable()) {
            INDArray key = bias == null ? scores : scores.add(bias);
            if (routing.nGroup() > 1) {
                INDArray limited = keepBestGroups(key);
                if (key != scores) {
                    Memory.release(key);
                }
                key = limited;
            }
            INDArray chosen = TopK.topK(Tensor.of(key), dims.topK()).indices().value();
            if (key != scores) {
                Memory.release(key);
            }
            return chosen;
        }
    }

    /** The keys with EXCLUDED subtracted outside each token's topk_group best groups. */
    private INDArray keepBestGroups(INDArray key) {
        long n = key.size(0);
        int groups = routing.nGroup();
        long per = dims.nRoutedExperts() / groups;
        INDArray grouped = key.reshape('c', new long[] {n, groups, per});
        INDArray groupScore = routing.scoring() == RouterScore.SIGMOID && per > 1
            ? TopK.topK(Tensor.of(grouped), 2).values().value().sum(2)
            : grouped.max(2);
        INDArray best = TopK.topK(Tensor.of(groupScore), routing.topkGroup()).indices().value();   // [N, topk_group]
        INDArray oneHot = Nd4j.exec(new OneHot(best, groups, -1, 1.0, 0.0, key.dataType()))[0];
        INDArray penalty = oneHot.sum(1).rsubi(1.0).muli(-EXCLUDED);                         // [N, G]: 0 or -EXCLUDED
        INDArray out = Nd4j.createUninitialized(key.dataType(), n, groups, per);
        Broadcast.add(grouped, penalty, out, 0, 1);
        Memory.release(oneHot);
        Memory.release(penalty);
        Memory.release(groupScore);
        Memory.release(best);
        return out.reshape('c', new long[] {n, (long) groups * per});
    }
}
