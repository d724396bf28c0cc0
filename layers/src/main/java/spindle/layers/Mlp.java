// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import spindle.autograd.Tensor;

/**
 * The two-layer feed-forward of GPT-2 and BERT style blocks, down(act(up(x))), with children "up_proj"
 * [hidden → intermediate] and "down_proj" [intermediate → hidden]; both with or without bias.
 */
public final class Mlp extends Layer {
    private final Layer upProj;
    private final Layer downProj;
    private final MlpActivation activation;

    public Mlp(int hidden, int intermediate, MlpActivation activation, boolean bias, LinearFactory linears) {
        Check.positive(hidden, "hidden_size");
        Check.positive(intermediate, "intermediate_size");
        if (activation == null || linears == null) {
            throw new IllegalArgumentException("Mlp: activation (hidden_act) and linears must not be null");
        }
        this.activation = activation;
        upProj = child("up_proj", linears.create("up_proj", hidden, intermediate, bias));
        downProj = child("down_proj", linears.create("down_proj", intermediate, hidden, bias));
    }

    /** x [..., hidden] → [..., hidden]. */
    @Override
    public Tensor forward(Tensor x) {
        return downProj.forward(activation.apply(upProj.forward(x)));
    }

    public MlpActivation activation() {
        return activation;
    }
}
