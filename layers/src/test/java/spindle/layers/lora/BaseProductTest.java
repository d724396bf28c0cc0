// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import static spindle.layers.lora.LoraLinearTest.F64;
import static spindle.layers.lora.LoraLinearTest.assertClose;
import static spindle.layers.lora.LoraLinearTest.input;

import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Elementwise;
import spindle.autograd.ops.Reductions;
import spindle.layers.Init;
import spindle.layers.Linear;
import spindle.layers.ModuleGradCheck;
import spindle.layers.qat.QatLinear;
import spindle.layers.qat.QatScheme;

/**
 * A pluggable frozen product makes torchtune's QAT-LoRA linear out of LoraLinear: y = fq(x)·fq(W)ᵀ + b +
 * s·B·A·x, the update in float on the unquantized x, and the adapter's gradients still exact.
 */
class BaseProductTest {
    static final QatScheme SCHEME = QatScheme.INT8_DYN_ACT_INT4_WEIGHT;
    static final int GROUP = 4;

    static LoraLinear qatLora(Linear base) {
        BaseProduct fakeQuantized = (x, w, b) -> QatLinear.forward(SCHEME, GROUP, x, w, b);
        LoraLinear lora = new LoraLinear(base, LoraOptions.lora(2, 4), new SplittableRandom(2), fakeQuantized);
        try (GradMode.Scope off = GradMode.disable()) {
            lora.loraB().weight().mutate(v -> v.assign(Init.normal(0, 0.5, new SplittableRandom(3)).create(F64, 5, 2)));
        }
        return lora;
    }

    @Test
    void qatLoraIsTheFakeQuantizedBasePlusTheFloatUpdate() {
        Linear base = new Linear(8, 5, true, F64, Init.normal(0, 1, new SplittableRandom(1)));
        LoraLinear lora = qatLora(base);
        QatLinear qat = new QatLinear(8, 5, true, F64, Init.zeros(), SCHEME, GROUP);
        qat.loadStateDict(Map.of("weight", base.weight().value(), "bias", base.bias().value()), true);
        INDArray x = input(4, 3, 8);
        INDArray ba = lora.loraB().weight().value().mmul(lora.loraA().weight().value()).muli(2.0);
        INDArray want = qat.forward(Tensor.of(x)).value().add(x.mmul(ba.transpose()));
        assertClose("fq(x) fq(W)ᵀ + b + s B A x", want, lora.forward(Tensor.of(x)).value(), 1e-12);
    }

    @Test
    void theAdaptersGradientsMatchCentralDifferencesThroughTheFakeQuantizedBase() {
        LoraLinear lora = qatLora(new Linear(8, 5, false, F64, Init.normal(0, 1, new SplittableRandom(4))));
        INDArray x = input(5, 3, 8);
        INDArray dy = input(6, 3, 5);
        ModuleGradCheck.assertMatches(lora,
            () -> Reductions.sum(Elementwise.mul(lora.forward(Tensor.of(x)), Tensor.of(dy))));
    }
}
