// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import java.util.function.BiFunction;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Linalg;

/**
 * The logits of a tied lm_head under QAT: h fake-quantized as the scheme says, times the fake-quantized embedding
 * weight [vocab, hidden] (torchao swaps a tied head for a QAT linear too); the embedding stays the only parameter.
 */
public final class QatTiedHead implements BiFunction<Tensor, Tensor, Tensor>, FakeQuantized {
    private final QatScheme scheme;
    private final int groupSize;
    private boolean enabled = true;

    public QatTiedHead(QatScheme scheme, int groupSize) {
        this.scheme = scheme;
        this.groupSize = groupSize;
    }

    @Override
    public Tensor apply(Tensor hidden, Tensor embedding) {
        return enabled ? QatLinear.forward(scheme, groupSize, hidden, embedding, null)
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
