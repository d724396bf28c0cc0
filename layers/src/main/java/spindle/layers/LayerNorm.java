// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import org.nd4j.linalg.api.buffer.DataType;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Norms;

/**
 * y = (x - mean) / sqrt(var + eps) * weight + bias over the last dim, variance biased, as torch.nn.LayerNorm;
 * keys "weight" (ones) and "bias" (zeros), both absent without an elementwise affine part.
 */
public final class LayerNorm extends Layer {
    private final Tensor weight;
    private final Tensor bias;
    private final double eps;

    public LayerNorm(int dim, double eps, boolean elementwiseAffine, DataType dtype) {
        Check.positive(dim, "hidden_size");
        if (!(eps > 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException("layer_norm_eps must be positive and finite but is " + eps);
        }
        weight = elementwiseAffine ? param("weight", Init.ones().create(dtype, dim)) : null;
        bias = elementwiseAffine ? param("bias", Init.zeros().create(dtype, dim)) : null;
        this.eps = eps;
    }

    /** x [..., dim] → same shape, one fused autograd node ({@link Norms#layerNorm}). */
    @Override
    public Tensor forward(Tensor x) {
        return Norms.layerNorm(x, weight, bias, eps);
    }

    /** The scale, or null without an elementwise affine part. */
    public Tensor weight() {
        return weight;
    }

    /** The shift, or null without an elementwise affine part. */
    public Tensor bias() {
        return bias;
    }

    public double eps() {
        return eps;
    }
}
