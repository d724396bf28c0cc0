// SPDX-License-Identifier: Apache-2.0
package spindle.layers.models;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Picks the next token from one row of logits: greedy, or temperature + top-k + top-p sampling. */
final class Sampler {
    private final SamplingOptions options;
    private final SplittableRandom rng;

    Sampler(SamplingOptions options) {
        this.options = options;
        this.rng = new SplittableRandom(options.seed());
    }

    int next(double[] logits) {
        if (options.temperature() == 0) {
            return argmax(logits);
        }
        Integer[] order = new Integer[logits.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        // Most likely first; ties keep the lower id first so the same seed gives the same text.
        Arrays.sort(order, (a, b) -> logits[a] != logits[b] ? Double.compare(logits[b], logits[a]) : Integer.compare(a, b));
        int kept = options.topK() == 0 ? order.length : Math.min(options.topK(), order.length);
        double max = logits[order[0]];
        double[] p = new double[kept];
        double total = 0;
        for (int i = 0; i < kept; i++) {
            p[i] = Math.exp((logits[order[i]] - max) / options.temperature());
            total += p[i];
        }
        // top-p: the smallest prefix whose probability reaches topP (at least one token).
        double cumulative = 0;
        int nucleus = 0;
        while (nucleus < kept && (nucleus == 0 || cumulative < options.topP() * total)) {
            cumulative += p[nucleus++];
        }
        double u = rng.nextDouble() * cumulative;
        for (int i = 0; i < nucleus; i++) {
            u -= p[i];
            if (u < 0) {
                return order[i];
            }
        }
        return order[nucleus - 1];
    }

    static int argmax(double[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }
}
