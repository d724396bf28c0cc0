// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import spindle.autograd.Tensor;

/** Ready-made parameter groupings. */
public final class ParamGroups {
    private ParamGroups() {}

    /** The entries of {@code named} that require grad, in order (frozen weights need no optimizer state). */
    public static Map<String, Tensor> trainable(Map<String, Tensor> named) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        named.forEach((name, t) -> {
            if (t.requiresGrad()) {
                out.put(name, t);
            }
        });
        return out;
    }

    /**
     * Two groups of the trainable entries, in order: index 0 holds tensors of rank >= 2 (matrices,
     * embeddings) with weight decay {@code weightDecay}, index 1 the rest (biases, norm gains) with 0.
     * This is the usual GPT/Llama rule (nanoGPT's configure_optimizers); either group may be empty.
     */
    public static List<ParamGroup> decayMatricesOnly(Map<String, Tensor> named, double weightDecay) {
        Check.nonNegative(weightDecay, "ParamGroups.decayMatricesOnly", "weight_decay");
        Map<String, Tensor> decay = new LinkedHashMap<>();
        Map<String, Tensor> noDecay = new LinkedHashMap<>();
        trainable(named).forEach((name, t) -> (t.rank() >= 2 ? decay : noDecay).put(name, t));
        return List.of(ParamGroup.of(decay).withWeightDecay(weightDecay), ParamGroup.of(noDecay).withWeightDecay(0));
    }
}
