// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import java.util.SplittableRandom;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Activations;

/**
 * Inverted dropout as torch.nn.Dropout: in training mode each element is zeroed with probability p and the
 * rest are scaled by 1 / (1 - p); in eval mode, or with p = 0, x passes through unchanged. Each training
 * call draws its mask's seed from the generator given here, so a run is reproducible from its seed.
 */
public final class Dropout extends Layer {
    private final double p;
    private final SplittableRandom rng;

    public Dropout(double p, SplittableRandom rng) {
        this.p = Check.probability(p, "Dropout p");
        if (rng == null) {
            throw new IllegalArgumentException("Dropout: rng must not be null (pass a seeded SplittableRandom)");
        }
        this.rng = rng;
    }

    /** x [...] → same shape; identity unless {@link #isTraining()} and p > 0. */
    @Override
    public Tensor forward(Tensor x) {
        return Activations.dropout(x, p, isTraining(), rng);
    }

    public double p() {
        return p;
    }
}
