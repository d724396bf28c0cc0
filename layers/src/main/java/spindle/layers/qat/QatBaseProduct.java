// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import spindle.autograd.Tensor;
import spindle.autograd.ops.Linalg;
import spindle.layers.lora.BaseProduct;

/**
 * The frozen path of torchtune's QAT-LoRA linear: fq_act(x)·fq_weight(W)ᵀ + b, while the LoRA update keeps the
 * unquantized x and stays in float. A base whose input size the group does not divide stays float, as torchao
 * leaves such a linear unquantized; so does every base while fake quantization is switched off. The frozen weights
 * are quantized once and kept until they change ({@link FakeQuantWeights}).
 */
public final class QatBaseProduct implements BaseProduct, FakeQuantized {
    private final QatConfig qat;
    private final FakeQuantWeights fakeQuant;
    private boolean enabled = true;

    public QatBaseProduct(QatConfig qat) {
        if (qat == null) {
            throw new IllegalArgumentException("QatBaseProduct: the QAT config must not be null");
        }
        this.qat = qat;
        fakeQuant = new FakeQuantWeights(qat.scheme(), qat.groupSize());
    }

    @Override
    public Tensor apply(Tensor x, Tensor weight, Tensor bias) {
        if (enabled && quantizes((int) weight.shape()[1])) {
            return fakeQuant.linear(x, weight, bias);
        }
        return Linalg.linear(x, weight, bias);
    }

    /** True when a base with {@code inFeatures} inputs is fake-quantized (while switched on). */
    public boolean quantizes(int inFeatures) {
        return qat.scheme().qualifies(inFeatures, qat.groupSize());
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
