// SPDX-License-Identifier: Apache-2.0
package spindle.layers.models;

import java.util.Set;

/**
 * How {@link Generator} picks tokens. temperature 0 is greedy (argmax); otherwise logits are divided by the
 * temperature, cut to the {@code topK} most likely (0 = no cut) and to the smallest set whose probability
 * reaches {@code topP} (1 = no cut), then sampled from a generator seeded with {@code seed}. Generation stops
 * after {@code maxNewTokens} or at a token of {@code stopTokens} (which is kept in the output).
 */
public record SamplingOptions(int maxNewTokens, double temperature, int topK, double topP, long seed,
                              Set<Integer> stopTokens) {
    public SamplingOptions {
        if (maxNewTokens < 0) {
            throw new IllegalArgumentException("max_new_tokens must be >= 0 but is " + maxNewTokens);
        }
        if (!(temperature >= 0)) {
            throw new IllegalArgumentException("temperature must be >= 0 but is " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top_k must be >= 0 (0 = off) but is " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top_p must be in (0, 1] but is " + topP);
        }
        stopTokens = Set.copyOf(stopTokens);
    }

    /** Greedy decoding of up to {@code maxNewTokens} tokens, no stop tokens. */
    public static SamplingOptions greedy(int maxNewTokens) {
        return new SamplingOptions(maxNewTokens, 0, 0, 1, 0, Set.of());
    }

    public SamplingOptions withTemperature(double t) {
        return new SamplingOptions(maxNewTokens, t, topK, topP, seed, stopTokens);
    }

    public SamplingOptions withTopK(int k) {
        return new SamplingOptions(maxNewTokens, temperature, k, topP, seed, stopTokens);
    }

    public SamplingOptions withTopP(double p) {
        return new SamplingOptions(maxNewTokens, temperature, topK, p, seed, stopTokens);
    }

    public SamplingOptions withSeed(long s) {
        return new SamplingOptions(maxNewTokens, temperature, topK, topP, s, stopTokens);
    }

    public SamplingOptions withStopTokens(Set<Integer> stops) {
        return new SamplingOptions(maxNewTokens, temperature, topK, topP, seed, stops);
    }
}
