// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import java.util.Arrays;
import spindle.autograd.Tensor;

/** The fake-quantization schemes of torchao's QAT quantizers, by their short names. */
public enum QatScheme {
    /** Int8DynActInt4WeightQATQuantizer: int8 per-token activations, int4 symmetric per-group weights. */
    INT8_DYN_ACT_INT4_WEIGHT("8da4w"),
    /** Int4WeightOnlyQATQuantizer (tinygemm): uint4 per-group weights with a float zero point. */
    INT4_WEIGHT_ONLY("int4wo"),
    /** int8 symmetric weights, one scale per output channel; activations untouched. */
    INT8_WEIGHT_ONLY("int8wo");

    private final String id;

    QatScheme(String id) {
        this.id = id;
    }

    /** The short name used in configs ("8da4w", "int4wo", "int8wo"). */
    public String id() {
        return id;
    }

    /** The scheme named {@code id}; fails naming the accepted names. */
    public static QatScheme parse(String id) {
        for (QatScheme s : values()) {
            if (s.id.equals(id)) {
                return s;
            }
        }
        throw new IllegalArgumentException("qat.scheme: unknown scheme '" + id + "'; expected one of "
            + Arrays.stream(values()).map(QatScheme::id).toList());
    }

    /** True when activations are fake-quantized too (only 8da4w). */
    public boolean quantizesActivations() {
        return this == INT8_DYN_ACT_INT4_WEIGHT;
    }

    /**
     * True when a linear with {@code inFeatures} inputs can be quantized: per-group schemes need the input
     * size to be a multiple of the group size (torchao skips the others); int8 per channel always fits.
     */
    public boolean qualifies(int inFeatures, int groupSize) {
        return this == INT8_WEIGHT_ONLY || inFeatures % groupSize == 0;
    }

    /** The integer grid of this scheme's weight codes. */
    QuantGrid weightGrid() {
        return switch (this) {
            case INT8_DYN_ACT_INT4_WEIGHT -> QuantGrid.INT4_SYMMETRIC;
            case INT4_WEIGHT_ONLY -> QuantGrid.UINT4_TINYGEMM;
            case INT8_WEIGHT_ONLY -> QuantGrid.INT8_SYMMETRIC;
        };
    }

    /** Inputs per weight group: {@code groupSize}, or the whole row for int8 per channel. */
    public int groupFor(int inFeatures, int groupSize) {
        return this == INT8_WEIGHT_ONLY ? inFeatures : groupSize;
    }

    /** The fake-quantized weight [out, in] of this scheme (groupSize is ignored by int8 per channel). */
    public Tensor fakeQuantizeWeight(Tensor weight, int groupSize) {
        return switch (this) {
            case INT8_DYN_ACT_INT4_WEIGHT -> FakeQuant.int4Symmetric(weight, groupSize);
            case INT4_WEIGHT_ONLY -> FakeQuant.int4WeightOnly(weight, groupSize);
            case INT8_WEIGHT_ONLY -> FakeQuant.int8PerChannel(weight);
        };
    }
}
