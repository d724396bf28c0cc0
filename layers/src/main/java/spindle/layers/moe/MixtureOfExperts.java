// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

import static spindle.autograd.ops.Elementwise.add;
import static spindle.autograd.ops.Elementwise.mul;
import static spindle.autograd.ops.Reductions.sum;
import static spindle.autograd.ops.Shapes.reshape;
import static spindle.autograd.ops.Shapes.unsqueeze;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;
import spindle.autograd.ops.ExpertCombine;
import spindle.autograd.ops.Indexing;
import spindle.autograd.ops.Joins;
import spindle.layers.Init;
import spindle.layers.LinearFactory;
import spindle.layers.Module;
import spindle.layers.ModuleList;
import spindle.layers.SwiGlu;

/**
 * A DeepSeek-V2/V3 MoE feed-forward, Hugging Face's {@code mlp} of a MoE layer: y = sum over the K experts a
 * token is routed to of weight * expert(x), plus the shared experts' output. Members: {@code gate.weight}
 * [E, hidden] (and {@code gate.e_score_correction_bias} [E] with loss-free balancing), {@code experts.N.*}
 * (one {@link SwiGlu} of width moe_intermediate_size per routed expert, built by the {@link LinearFactory}, so
 * that LoRA and QAT can target them) and {@code shared_experts.*} (one SwiGlu of width moe_intermediate_size *
 * n_shared_experts; absent when n_shared_experts is 0).
 *
 * <p>Each expert runs once on the tokens routed to it (gathered with indexSelect); an expert that receives no
 * tokens is skipped but still gets a zero gradient. Plain experts run all together as batched products when the
 * padding that needs is small ({@link ExpertBatch}), with the same results. In training mode with moe_capacity_factor > 0 an expert keeps
 * at most ceil(moe_capacity_factor * N * K / E) slots, the earliest tokens first; a dropped slot contributes
 * nothing (the token keeps its other experts and the residual).
 */
public final class MixtureOfExperts extends Module {
    private final MoeConfig c;
    private final ExpertDims dims;
    private final Router gate;
    private final ModuleList<SwiGlu> experts;
    private final SwiGlu sharedExperts;

    /** Builds the layer of {@code c}; the gate weight of {@code dtype} is filled by {@code init}. */
    public MixtureOfExperts(MoeConfig c, LinearFactory linears, DataType dtype, Init init) {
        if (c == null || linears == null || dtype == null || init == null) {
            throw new IllegalArgumentException("MixtureOfExperts: config, linears, dtype and init must not be null");
        }
        this.c = c;
        this.dims = c.dims();
        gate = child("gate", new Router(c, dtype, init));
        List<SwiGlu> routed = new ArrayList<>();
        for (int e = 0; e < dims.nRoutedExperts(); e++) {
            routed.add(new SwiGlu(dims.hidden(), dims.moeIntermediateSize(), linears.scoped("experts." + e)));
        }
        experts = child("experts", new ModuleList<>(routed));
        sharedExperts = dims.nSharedExperts() == 0 ? null
            : child("shared_experts", new SwiGlu(dims.hidden(), dims.moeIntermediateSize() * dims.nSharedExperts(),
                linears.scoped("shared_experts")));
    }

    public MoeConfig config() {
        return c;
    }

    public Router gate() {
        return gate;
    }

    /** The routed experts, "experts.0" to "experts.{E-1}". */
    public ModuleList<SwiGlu> experts() {
        return experts;
    }

    /** The shared experts, or null when n_shared_experts is 0. */
    public SwiGlu sharedExperts() {
        return sharedExperts;
    }

    /** x [B, T, hidden] → the mixed hidden state [B, T, hidden], the balance loss and the per-expert load. */
    public MoeOutput forward(Tensor x) {
        long[] s = x.shape();
        if (s.length != 3 || s[2] != dims.hidden() || s[0] < 1 || s[1] < 1) {
            throw new IllegalArgumentException("MixtureOfExperts.forward: x must have shape [B, T, hidden_size = "
                + dims.hidden() + "] with B, T >= 1 but has " + Arrays.toString(s));
        }
        int b = (int) s[0];
        int t = (int) s[1];
        long n = (long) b * t;
        Tensor flat = reshape(x, n, dims.hidden());
        Router.Routing r = gate.route(flat);
        long[] indices = r.indices().value().reshape('c', new long[] {n * dims.topK()}).toLongVector();
        Dispatch d = Dispatch.of(indices, dims.topK(), dims.nRoutedExperts(), isTraining() ? c.capacity(n) : 0);
        gate.recordLoad(d.routed());
        Tensor y = routedExperts(flat, r.weights(), d);
        if (sharedExperts != null) {
            y = add(y, sharedExperts.forward(flat));
        }
        Tensor loss = BalanceLoss.of(c, r, indices, b, t);
        return new MoeOutput(reshape(y, b, t, dims.hidden()), loss, d.routed());
    }

    /**
     * Moves the loss-free balancing bias by {@code tokensPerExpertSummedOverWorkers} now; see
     * {@link Router#updateBias}. Training does not need this: the gate moves it after each optimizer step from
     * the loads of the step's training forwards ({@link Router#afterOptimizerStep}).
     */
    public void updateBias(long[] tokensPerExpertSummedOverWorkers) {
        gate.updateBias(tokensPerExpertSummedOverWorkers);
    }

    /**
     * sum over kept (token, slot) of weight * expert(x[token]), as [N, hidden]. The experts' outputs are stacked
     * [M, hidden], with one zero row appended for dropped slots, and picked back into slot order with one gather,
     * so the sum over K is a weighted reduction. (A torch-style scatterAdd of [M, hidden] rows back to the tokens
     * needs an [M, hidden] index and took 340 ms for the benchmark layer against about 5 ms for this gather.)
     */
    private Tensor routedExperts(Tensor x, Tensor weights, Dispatch d) {
        long n = x.size(0);
        Tensor stacked;
        long[] rowOfSlot;
        if (ExpertBatch.applies(experts.items(), d, dims, x.dtype())) {
            ExpertBatch.Outputs batched = ExpertBatch.forward(x, experts.items(), d);
            stacked = batched.rows();
            rowOfSlot = batched.rowOfSlot();
        } else {
            stacked = oneByOne(x, d);
            rowOfSlot = d.rowOfSlot();
        }
        if (ExpertCombine.fits(stacked, weights)) {   // one kernel for the gather, the weighting and the sum
            return ExpertCombine.combine(stacked, weights, rowOfSlot);
        }
        Tensor perSlot = Indexing.indexSelect(stacked, 0, Tensor.of(Nd4j.createFromArray(rowOfSlot)));
        Tensor weighted = mul(reshape(perSlot, n, dims.topK(), dims.hidden()), unsqueeze(weights, 2));   // [N,K,hidden]
        return sum(weighted, false, 1);
    }

    /** Each expert on its own tokens, outputs stacked [M, hidden] in {@link Dispatch}'s row order (+ a zero row). */
    private Tensor oneByOne(Tensor x, Dispatch d) {
        List<Tensor> outs = new ArrayList<>();
        List<Tensor> idle = new ArrayList<>();
        for (int e = 0; e < dims.nRoutedExperts(); e++) {
            SwiGlu expert = experts.get(e);
            if (d.kept(e) == 0) {
                idle.addAll(expert.namedParameters().values());
                continue;
            }
            long[] tokens = Arrays.copyOfRange(d.tokens(), d.start()[e], d.start()[e + 1]);
            outs.add(expert.forward(Indexing.indexSelect(x, 0, Tensor.of(Nd4j.createFromArray(tokens)))));
        }
        if (!idle.isEmpty() || d.keptTotal() < d.rowOfSlot().length) {
            outs.add(zeroRow(x, idle));
        }
        return outs.size() == 1 ? outs.get(0) : Joins.concat(0, outs.toArray(Tensor[]::new));
    }

    /**
     * A zero [1, hidden] row, the output of a dropped slot. With idle experts it is recorded as an op of their
     * parameters whose backward hands each of them a zero gradient: an expert without tokens ends a backward
     * with grad 0, like every other parameter, rather than null.
     */
    private static Tensor zeroRow(Tensor x, List<Tensor> idle) {
        INDArray z = Nd4j.zeros(x.dtype(), 1, x.size(1));
        if (idle.isEmpty()) {
            return Tensor.of(z);
        }
        Tensor[] params = idle.toArray(Tensor[]::new);
        return Tape.record("moe_idle_experts", z, g -> {
            for (int i = 0; i < params.length; i++) {
                if (g.needs(i)) {
                    g.add(i, Nd4j.zeros(params[i].dtype(), params[i].shape()));
                }
            }
        }, params);
    }
}
