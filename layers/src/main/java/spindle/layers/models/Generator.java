// SPDX-License-Identifier: Apache-2.0
package spindle.layers.models;

import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.data.tokenizer.Tokenizer;
import spindle.layers.attention.AttentionCache;

/**
 * Text generation from a causal LM: one forward over the prompt fills the per-layer caches (prefill), then
 * each new token is one forward of a single position (decode). Runs without gradients and in eval mode.
 */
public final class Generator {
    private Generator() {}

    /** The prompt text followed by its continuation, encoded and decoded by {@code tokenizer}. */
    public static String generate(CausalLm model, Tokenizer tokenizer, String prompt, SamplingOptions options) {
        return tokenizer.decode(generate(model, tokenizer.encode(prompt), options));
    }

    /** The prompt followed by the generated tokens; a notice that fewer tokens fit goes to System.err. */
    public static int[] generate(CausalLm model, int[] prompt, SamplingOptions options) {
        return generate(model, prompt, options, System.err::println);
    }

    /**
     * The prompt followed by the generated tokens, at most {@link CausalLm#maxPositions()} in all: when
     * max_new_tokens does not fit, generation stops at the limit and says so once to {@code notices}.
     */
    public static int[] generate(CausalLm model, int[] prompt, SamplingOptions options, Consumer<String> notices) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("generate: the prompt is empty; give at least one token");
        }
        int[] out = Arrays.copyOf(prompt, prompt.length + newTokensThatFit(model, prompt.length, options, notices));
        if (out.length == prompt.length) {
            return out;
        }
        boolean wasTraining = model.isTraining();
        model.eval();
        List<AttentionCache> caches = model.newCaches();
        int length = prompt.length;
        Sampler sampler = new Sampler(options);
        try (GradMode.Scope off = GradMode.disable()) {
            double[] logits = lastLogits(model, Arrays.copyOf(prompt, prompt.length), caches);
            while (length < out.length) {
                int next = sampler.next(logits);
                out[length++] = next;
                if (options.stopTokens().contains(next) || length == out.length) {
                    break;
                }
                logits = lastLogits(model, new int[] {next}, caches);
            }
        } finally {
            caches.forEach(AttentionCache::clear);
            if (wasTraining) {
                model.train();
            }
        }
        return Arrays.copyOf(out, length);
    }

    /** max_new_tokens, or fewer when the prompt and they would not fit in max_position_embeddings (then a notice). */
    private static int newTokensThatFit(CausalLm model, int promptLength, SamplingOptions options, Consumer<String> notices) {
        int room = model.maxPositions() - promptLength;
        if (room < 0) {
            throw new IllegalArgumentException("generate: the prompt has " + promptLength + " tokens, more than the"
                + " model's max_position_embeddings (" + model.maxPositions() + ")");
        }
        if (options.maxNewTokens() > room) {
            notices.accept("generate: only " + room + " of max_new_tokens " + options.maxNewTokens() + " fit: the"
                + " prompt has " + promptLength + " tokens and the model's max_position_embeddings is "
                + model.maxPositions() + "; stopping there");
        }
        return Math.min(options.maxNewTokens(), room);
    }

    /** Logits of the last of {@code tokens} after running them through the model with the caches. */
    private static double[] lastLogits(CausalLm model, int[] tokens, List<AttentionCache> caches) {
        long[] ids = Arrays.stream(tokens).asLongStream().toArray();
        try (Tensor input = Tensor.of(Nd4j.createFromArray(ids).reshape(1, ids.length))) {
            CausalLmOutput out = model.forward(input, caches);
            try (Tensor logits = out.logits()) {
                long t = logits.shape()[1];
                return logits.value().get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                    org.nd4j.linalg.indexing.NDArrayIndex.point(t - 1)).castTo(DataType.DOUBLE).toDoubleVector();
            } finally {
                out.balanceLoss().close();
            }
        }
    }
}
