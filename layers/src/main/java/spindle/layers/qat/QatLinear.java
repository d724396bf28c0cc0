// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import org.nd4j.linalg.api.buffer.DataType;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Linalg;
import spindle.layers.Check;
import spindle.layers.Init;
import spindle.layers.Layer;

/**
 * torchao's QAT linear: y = fq_act(x) fq_weight(W)ᵀ + b, with weight [out, in] and bias [out] under the plain
 * keys "weight" and "bias", so a model prepared for QAT loads and saves ordinary checkpoints. Only 8da4w
 * fake-quantizes activations; the bias is never quantized. With fake quantization disabled (torchtune's
 * fake_quant_after_n_steps before its step) it is a plain linear.
 */
public final class QatLinear extends Layer implements FakeQuantized {
    private final Tensor weight;
    private final Tensor bias;
    private final FakeQuantWeights fakeQuant;
    private boolean fakeQuantEnabled = true;

    /**
     * @param groupSize inputs per weight group; must divide {@code in} for the per-group schemes (see
     *     {@link QatScheme#qualifies}), ignored by int8 weight-only
     */
    public QatLinear(int in, int out, boolean hasBias, DataType dtype, Init init, QatScheme scheme, int groupSize) {
        Check.positive(in, "in_features");
        Check.positive(out, "out_features");
        if (scheme == null) {
            throw new IllegalArgumentException("QatLinear: scheme must not be null");
        }
        if (groupSize < 1 || !scheme.qualifies(in, groupSize)) {
            throw new IllegalArgumentException("QatLinear: group_size " + groupSize + " must be positive and divide "
                + "in_features " + in + " for scheme " + scheme.id());
        }
        fakeQuant = new FakeQuantWeights(scheme, groupSize);
        weight = param("weight", init.create(dtype, out, in));
        bias = hasBias ? param("bias", Init.zeros().create(dtype, out)) : null;
    }

    /** x [..., in] → [..., out]. */
    @Override
    public Tensor forward(Tensor x) {
        if (!fakeQuantEnabled) {
            return Linalg.linear(x, weight, bias);
        }
        return fakeQuant.linear(x, weight, bias);
    }

    /**
     * fq_act(x) fq_weight(weight)ᵀ + bias for {@code scheme}, quantizing the weight afresh ({@link FakeQuantWeights}
     * keeps it while it does not change).
     */
    public static Tensor forward(QatScheme scheme, int groupSize, Tensor x, Tensor weight, Tensor bias) {
        Tensor xq = scheme.quantizesActivations() ? FakeQuant.int8PerToken(x) : x;
        return Linalg.linear(xq, scheme.fakeQuantizeWeight(weight, groupSize), bias);
    }

    /** Turns fake quantization on or off (torchtune starts it after a number of steps). */
    @Override
    public void setFakeQuantEnabled(boolean enabled) {
        fakeQuantEnabled = enabled;
    }

    @Override
    public boolean isFakeQuantEnabled() {
        return fakeQuantEnabled;
    }

    public QatScheme scheme() {
        return fakeQuant.scheme();
    }

    public int groupSize() {
        return fakeQuant.groupSize();
    }

    public Tensor weight() {
        return weight;
    }

    /** The bias, or null when this layer has none. */
    public Tensor bias() {
        return bias;
    }
}
