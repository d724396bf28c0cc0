// SPDX-License-Identifier: Apache-2.0
package spindle.layers.models;

import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.layers.attention.AttentionCache;

/**
 * Text generation from a causal LM: one forward over the prompt fills the per-layer caches (prefill), then
 * each new token is one forward of a single position (decode). Runs without gradients and in eval mode.
 */
public final class Generator {
    private Generator() {}

    /** The prompt followed by the generated tokens. */
    public static int[] generate(CausalLm model, int[] prompt, SamplingOptions options) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("generate: the prompt is empty; give at least one token");
        }
        boolean wasTraining = model.isTraining();
        model.eval();
        List<AttentionCache> caches = model.newCaches();
        int[] out = Arrays.copyOf(prompt, prompt.length + options.maxNewTokens());
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
