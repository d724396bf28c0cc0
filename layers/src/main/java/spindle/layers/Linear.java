// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Linalg;

/** y = x Wᵀ + b, weight [out, in] and bias [out] as nn.Linear; keys "weight" and "bias". */
public final class Linear extends Layer implements EffectiveWeight {
    private final Tensor weight;
    private final Tensor bias;

    /** The weight is filled by {@code init}; the bias starts at zero, as in Hugging Face models. */
    public Linear(int in, int out, boolean hasBias, DataType dtype, Init init) {
        Check.positive(in, "in_features");
        Check.positive(out, "out_features");
        weight = param("weight", init.create(dtype, out, in));
        bias = hasBias ? param("bias", Init.zeros().create(dtype, out)) : null;
    }

    /** x [..., in] → [..., out]. */
    @Override
    public Tensor forward(Tensor x) {
        return Linalg.linear(x, weight, bias);
    }

    public Tensor weight() {
        return weight;
    }

    /** The live weight array. */
    @Override
    public INDArray effectiveWeight() {
        return weight.value();
    }

    /** The bias, or null when this layer has none. */
    public Tensor bias() {
        return bias;
    }
}
