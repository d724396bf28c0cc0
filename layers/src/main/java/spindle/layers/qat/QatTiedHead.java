// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import java.util.Optional;
import java.util.function.BiFunction;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Linalg;
import spindle.data.HfConfig;
import spindle.layers.models.CausalLm;

/**
 * The logits of a tied lm_head under QAT: h fake-quantized as the scheme says, times the fake-quantized embedding
 * weight [vocab, hidden] (torchao swaps a tied head for a QAT linear too); the embedding stays the only parameter.
 */
public final class QatTiedHead implements BiFunction<Tensor, Tensor, Tensor>, FakeQuantized {
    private final FakeQuantWeights fakeQuant;
    private boolean enabled = true;

    public QatTiedHead(QatScheme scheme, int groupSize) {
        fakeQuant = new FakeQuantWeights(scheme, groupSize);
    }

    /**
     * Fake-quantizes the tied head of {@code model} when config.json ties it and its hidden size qualifies;
     * returns why it was left float, if it was (nothing for an untied model).
     */
    public static Optional<String> attach(CausalLm model, HfConfig config, QatConfig qat) {
        if (!config.bool("tie_word_embeddings", false)) {
            return Optional.empty();
        }
        int hidden = config.positiveInteger("hidden_size");
        if (!qat.scheme().qualifies(hidden, qat.groupSize())) {
            return Optional.of("lm_head (in_features " + hidden + " not divisible by group_size " + qat.groupSize() + ")");
        }
        model.setTiedHead(new QatTiedHead(qat.scheme(), qat.groupSize()));
        return Optional.empty();
    }

    @Override
    public Tensor apply(Tensor hidden, Tensor embedding) {
        return enabled ? fakeQuant.linear(hidden, embedding, null)
            : Linalg.linear(hidden, embedding, null);
    }

    @Override
    public void setFakeQuantEnabled(boolean on) {
        enabled = on;
    }

    @Override
    public boolean isFakeQuantEnabled() {
        return enabled;
    }
}
