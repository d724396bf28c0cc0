// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import spindle.autograd.Tensor;
import spindle.autograd.ops.Gating;

/** SwiGLU feed-forward, down(silu(gate(x)) * up(x)), named as in Hugging Face Llama and DeepSeek-V3. */
public final class SwiGlu extends Layer {
    private final Layer gateProj;
    private final Layer upProj;
    private final Layer downProj;

    public SwiGlu(int hidden, int intermediate, LinearFactory linears) {
        Check.positive(hidden, "hidden_size");
        Check.positive(intermediate, "intermediate_size");
        gateProj = child("gate_proj", linears.create("gate_proj", hidden, intermediate, false));
        upProj = child("up_proj", linears.create("up_proj", hidden, intermediate, false));
        downProj = child("down_proj", linears.create("down_proj", intermediate, hidden, false));
    }

    /** x [..., hidden] → [..., hidden]; the gate is one fused node ({@link Gating#swiglu}). */
    @Override
    public Tensor forward(Tensor x) {
        return downProj.forward(Gating.swiglu(gateProj.forward(x), upProj.forward(x)));
    }
}
