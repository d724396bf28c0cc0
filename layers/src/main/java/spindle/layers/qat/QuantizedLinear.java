// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Linalg;
import spindle.layers.Check;
import spindle.layers.Init;
import spindle.layers.Layer;

/**
 * The linear of a converted model, for inference: it holds the convert step's buffers {@code weight} (int8
 * codes [out, in]), {@code scales} [out, groups] and, for int4wo, {@code zeros}, plus a float {@code bias} when
 * it has one. The weight is dequantized once (by {@link #refresh()} after loading, or at the first forward)
 * and each forward is one GEMM; 8da4w first quantizes each token's activations to int8 and back. The result
 * equals the fake-quantized linear the model was trained with. No gradient flows through it.
 */
public final class QuantizedLinear extends Layer {
    private final QatScheme scheme;
    private final int groupSize;
    private final INDArray codes;
    private final INDArray scales;
    private final INDArray zeros;
    private final Tensor bias;
    private Tensor dequantized;

    /**
     * @param groupSize inputs per weight group; must divide {@code in} (int8wo uses the whole row whatever it is)
     * @param dtype the dtype of the scales, zeros, bias and the computation
     */
    public QuantizedLinear(int in, int out, boolean hasBias, DataType dtype, QatScheme scheme, int groupSize) {
        Check.positive(in, "in_features");
        Check.positive(out, "out_features");
        if (scheme == null || groupSize < 1 || !scheme.qualifies(in, groupSize)) {
            throw new IllegalArgumentException("QuantizedLinear: group_size " + groupSize + " must be positive and "
                + "divide in_features " + in + " for scheme " + (scheme == null ? null : scheme.id()));
        }
        this.scheme = scheme;
        this.groupSize = scheme.groupFor(in, groupSize);
        int groups = in / this.groupSize;
        bias = hasBias ? param("bias", Init.zeros().create(dtype, out)) : null;
        codes = buffer("weight", Nd4j.create(DataType.BYTE, out, in), true);
        scales = buffer("scales", Nd4j.ones(dtype, out, groups), true);
        zeros = scheme == QatScheme.INT4_WEIGHT_ONLY ? buffer("zeros", Nd4j.zeros(dtype, out, groups), true) : null;
    }

    /** x [..., in] → [..., out]. */
    @Override
    public Tensor forward(Tensor x) {
        if (dequantized == null) {
            refresh();
        }
        Tensor input = x;
        if (scheme.quantizesActivations()) {
            try (GradMode.Scope off = GradMode.disable()) {
                input = FakeQuant.int8PerToken(Tensor.of(x.value()));
            }
        }
        return Linalg.linear(input, dequantized, bias);
    }

    /** Dequantizes the weight from the current buffers; call it after loading new codes or scales. */
    public void refresh() {
        dequantized = Tensor.of(quantizedWeight().dequantize());
    }

    /** The codes, scales and zeros this layer holds (live arrays, not copies). */
    public QuantizedWeight quantizedWeight() {
        return new QuantizedWeight(scheme, codes, scales, zeros);
    }

    public QatScheme scheme() {
        return scheme;
    }

    /** Inputs per weight group (in_features for int8wo). */
    public int groupSize() {
        return groupSize;
    }

    /** The bias, or null when this layer has none. */
    public Tensor bias() {
        return bias;
    }
}
