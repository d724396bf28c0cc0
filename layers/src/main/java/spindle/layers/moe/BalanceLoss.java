// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

import static spindle.autograd.ops.Elementwise.add;
import static spindle.autograd.ops.Elementwise.div;
import static spindle.autograd.ops.Elementwise.mul;
import static spindle.autograd.ops.Elementwise.mulScalar;
import static spindle.autograd.ops.Reductions.logsumexp;
import static spindle.autograd.ops.Reductions.mean;
import static spindle.autograd.ops.Reductions.sum;

import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.Dense;

/**
 * The load-balancing losses of a MoE layer, each already times its coefficient. With P the router
 * probabilities (softmax scores; for SIGMOID scoring the scores divided by their sum over the experts, as in
 * DeepSeek-V3) and f_i = (slots routed to i) * E / (tokens * K), a constant without gradient:
 * <ul>
 *   <li>Switch / DeepSeek-V2: alpha * sum_i f_i * mean_tokens(P_i), over all B * T tokens of the batch;</li>
 *   <li>DeepSeek-V3 sequence-wise (seq_aux): the same per sequence (T tokens), averaged over the B sequences;</li>
 *   <li>router z-loss (ST-MoE): coef * mean_tokens(logsumexp(logits)^2).</li>
 * </ul>
 */
public final class BalanceLoss {
    private BalanceLoss() {}

    /**
     * The sum of the losses {@code c} enables (a zero scalar when none is) for the routing of B sequences of T
     * tokens; {@code indices} are the [B * T * K] chosen experts, token-major.
     */
    public static Tensor of(MoeConfig c, Router.Routing r, long[] indices, int b, int t) {
        BalanceOptions o = c.balance();
        int topK = c.dims().topK();
        Tensor loss = null;
        if (o.auxLossAlpha() > 0) {
            Tensor p = c.routing().scoring() == RouterScore.SOFTMAX ? r.scores()
                : div(r.scores(), sum(r.scores(), true, 1));
            loss = o.seqAux() ? sequenceWise(p, indices, b, t, topK, o.auxLossAlpha())
                : batchWise(p, indices, topK, o.auxLossAlpha());
        }
        if (o.zLossCoef() > 0) {
            Tensor z = zLoss(r.logits(), o.zLossCoef());
            loss = loss == null ? z : add(loss, z);
        }
        return loss != null ? loss : Tensor.of(Nd4j.scalar(r.logits().dtype(), 0.0));
    }

    /** alpha * sum_i f_i * mean_n(p[n, i]) for p [N, E]. */
    public static Tensor batchWise(Tensor p, long[] indices, int topK, double alpha) {
        int e = (int) p.size(1);
        double[] f = new double[e];
        for (long i : indices) {
            f[(int) i] += 1;
        }
        double scale = (double) e / indices.length;   // E / (N * K)
        for (int i = 0; i < e; i++) {
            f[i] *= scale;
        }
        return weightedSum(p, f, p.size(0), alpha / p.size(0));
    }

    /** alpha * mean_b sum_i f[b, i] * mean_t(p[b, t, i]) for p [B * T, E], f counted per sequence. */
    public static Tensor sequenceWise(Tensor p, long[] indices, int b, int t, int topK, double alpha) {
        int e = (int) p.size(1);
        double[] f = new double[b * e];
        for (int pos = 0; pos < indices.length; pos++) {
            int seq = pos / (t * topK);
            f[seq * e + (int) indices[pos]] += 1;
        }
        double scale = (double) e / ((long) t * topK);
        for (int i = 0; i < f.length; i++) {
            f[i] *= scale;
        }
        return weightedSum(p, f, t, alpha / ((double) b * t));
    }

    /**
     * scale * sum over rows r and experts i of f[(r / rowsPerGroup) * E + i] * p[r, i] for p [rows, E], in one op
     * (a mean over each group's rows, times f, summed, scaled) instead of five forward and about five backward ND4J
     * ops; computed in float64 and rounded once. d/dp[r, i] = g * scale * f[(r / rowsPerGroup) * E + i].
     */
    private static Tensor weightedSum(Tensor p, double[] f, long rowsPerGroup, double scale) {
        int e = (int) p.size(1);
        int n = (int) p.value().length();
        double[] w = new double[n];
        for (int k = 0; k < n; k++) {
            w[k] = scale * f[(int) (k / e / rowsPerGroup) * e + k % e];
        }
        double[] v = Dense.read(p.value(), 0);
        double loss = 0;
        for (int k = 0; k < n; k++) {
            loss += w[k] * v[k];
        }
        return Tape.record("balance_loss", Nd4j.scalar(p.dtype(), loss), g -> {
            double dy = g.out().getDouble(0);
            double[] dp = Dense.scratch(0, n);
            for (int k = 0; k < n; k++) {
                dp[k] = dy * w[k];
            }
            g.add(0, Dense.array(dp, p.dtype(), p.shape()));
        }, p);
    }

    /** coef * mean_n(logsumexp(logits[n, :])^2) for logits [N, E]. */
    public static Tensor zLoss(Tensor logits, double coef) {
        Tensor lse = logsumexp(logits, false, 1);
        return mulScalar(mean(mul(lse, lse)), coef);
    }

}
