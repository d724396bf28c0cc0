// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

import static spindle.autograd.ops.Linalg.matmul;
import static spindle.autograd.ops.Shapes.reshape;
import static spindle.autograd.ops.Shapes.transpose;

import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Gating;
import spindle.autograd.ops.Indexing;
import spindle.autograd.ops.Joins;
import spindle.layers.Linear;
import spindle.layers.SwiGlu;

/**
 * All routed experts of a layer in a few large ops instead of about six per expert (each ND4J op costs some
 * 50 us however small): every expert's tokens are gathered at once into [E, C, hidden], C the busiest expert's
 * count, the shorter experts padded with token 0; the experts' weights are stacked and the SwiGLU runs as three
 * batched products. No slot picks a padded row, so padded rows get a zero gradient and add exactly zero to the
 * weights' and x's gradients: the results are the expert-by-expert loop's up to the summation order inside BLAS.
 * An idle expert (no tokens) gets a zero gradient through the stack, as in the loop.
 */
final class ExpertBatch {
    /**
     * Padded rows cost GEMM work, saved ops cost fixed time: batching pays while padded rows times hidden times
     * intermediate stay below this many per expert beyond the first (about 12 ops of 50 us saved per expert,
     * against 18 flops per padded element at ~50 GFLOP/s: 1.7e6).
     */
    static final double PADDING_BUDGET_PER_EXPERT = 1.7e6;

    /** Tests force one path: null decides by the padding budget. */
    static volatile Boolean forced = null;

    /**
     * @param rows [E * C (+ 1 zero row when slots were dropped), hidden] the experts' outputs
     * @param rowOfSlot for each (token, slot), token-major, its row of {@code rows}
     */
    record Outputs(Tensor rows, long[] rowOfSlot) {}

    private ExpertBatch() {}

    /**
     * Whether to batch {@code experts} for this dispatch of inputs of {@code dtype}: all plain bias-free Linears
     * with weights of that dtype, and padding within budget.
     */
    static boolean applies(List<SwiGlu> experts, Dispatch d, ExpertDims dims, DataType dtype) {
        if (forced != null && !forced) {
            return false;
        }
        for (SwiGlu e : experts) {
            Map<String, Tensor> p = e.namedParameters();
            if (p.size() != 3 || !e.namedModules().values().stream().skip(1).allMatch(m -> m instanceof Linear)
                || !p.values().stream().allMatch(w -> w.dtype() == dtype)) {
                return false;   // LoRA, fake-quantised or differently typed experts run one by one
            }
        }
        int c = busiest(d);
        long padded = (long) c * experts.size() - d.keptTotal();
        double work = (double) padded * dims.hidden() * dims.moeIntermediateSize();
        return c > 0 && (forced != null || work <= PADDING_BUDGET_PER_EXPERT * (experts.size() - 1));
    }

    /** The experts' outputs for their tokens of x [N, hidden], in rows laid out as {@link Outputs} says. */
    static Outputs forward(Tensor x, List<SwiGlu> experts, Dispatch d) {
        int e = experts.size();
        int c = busiest(d);
        long[] pick = new long[e * c];   // padding picks token 0
        long[] rowOfBatch = new long[d.keptTotal() + 1];
        for (int k = 0; k < e; k++) {
            for (int r = d.start()[k]; r < d.start()[k + 1]; r++) {
                pick[k * c + r - d.start()[k]] = d.tokens()[r];
                rowOfBatch[r] = (long) k * c + r - d.start()[k];
            }
        }
        rowOfBatch[d.keptTotal()] = (long) e * c;   // a dropped slot's zero row
        long hidden = x.size(1);
        Tensor in = reshape(Indexing.indexSelect(x, 0, Tensor.of(Nd4j.createFromArray(pick))), e, c, hidden);
        Tensor gate = matmul(in, stacked(experts, "gate_proj.weight"));
        Tensor up = matmul(in, stacked(experts, "up_proj.weight"));
        Tensor out = matmul(Gating.swiglu(gate, up), stacked(experts, "down_proj.weight"));
        Tensor rows = reshape(out, (long) e * c, hidden);
        if (d.keptTotal() < d.rowOfSlot().length) {
            rows = Joins.concat(0, rows, Tensor.of(Nd4j.zeros(x.dtype(), 1, hidden)));
        }
        long[] rowOfSlot = new long[d.rowOfSlot().length];
        for (int p = 0; p < rowOfSlot.length; p++) {
            rowOfSlot[p] = rowOfBatch[(int) d.rowOfSlot()[p]];
        }
        return new Outputs(rows, rowOfSlot);
    }

    /** The experts' weights named {@code key}, [out, in] each, stacked and transposed to [E, in, out]. */
    private static Tensor stacked(List<SwiGlu> experts, String key) {
        Tensor[] w = experts.stream().map(s -> s.namedParameters().get(key)).toArray(Tensor[]::new);
        return transpose(Joins.stack(0, w), 1, 2);
    }

    private static int busiest(Dispatch d) {
        int c = 0;
        for (int k = 0; k + 1 < d.start().length; k++) {
            c = Math.max(c, d.kept(k));
        }
        return c;
    }
}
