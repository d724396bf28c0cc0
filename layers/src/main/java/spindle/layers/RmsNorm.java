// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import org.nd4j.linalg.api.buffer.DataType;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Norms;

/** y = x / sqrt(mean(x², last dim) + eps) * weight, as Llama's RMSNorm; key "weight", initialised to ones. */
public final class RmsNorm extends Layer {
    private final Tensor weight;
    private final double eps;

    public RmsNorm(int dim, double eps, DataType dtype) {
        Check.positive(dim, "hidden_size");
        if (!(eps > 0)) {
            throw new IllegalArgumentException("rms_norm_eps must be positive but is " + eps);
        }
        weight = param("weight", Init.ones().create(dtype, dim));
        this.eps = eps;
    }

    /** x [..., dim] → same shape, one fused autograd node ({@link Norms#rmsNorm}). */
    @Override
    public Tensor forward(Tensor x) {
        return Norms.rmsNorm(x, weight, eps);
    }

    public Tensor weight() {
        return weight;
    }

    public double eps() {
        return eps;
    }
}
