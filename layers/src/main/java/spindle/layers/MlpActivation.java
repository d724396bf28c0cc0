// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import spindle.autograd.Tensor;
import spindle.autograd.ops.Activations;
import spindle.autograd.ops.Activations.GeluApproximation;

/** The nonlinearity between an {@link Mlp}'s two projections (Hugging Face's hidden_act relu, gelu, gelu_new). */
public enum MlpActivation {
    /** max(x, 0). */
    RELU {
        @Override
        public Tensor apply(Tensor x) {
            return Activations.relu(x);
        }
    },
    /** Exact GELU, x Phi(x), torch.nn.GELU(). */
    GELU {
        @Override
        public Tensor apply(Tensor x) {
            return Activations.gelu(x, GeluApproximation.NONE);
        }
    },
    /** GELU with the tanh approximation, torch.nn.GELU(approximate='tanh') (GPT-2's gelu_new). */
    GELU_TANH {
        @Override
        public Tensor apply(Tensor x) {
            return Activations.gelu(x, GeluApproximation.TANH);
        }
    };

    /** The activation of x, same shape, recorded on the tape. */
    public abstract Tensor apply(Tensor x);
}
