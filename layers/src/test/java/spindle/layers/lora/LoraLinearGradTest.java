// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.GradCase;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Elementwise;
import spindle.autograd.ops.Reductions;
import spindle.layers.Init;
import spindle.layers.Linear;
import spindle.layers.ModuleGradCheck;

/**
 * Float64 central-difference checks of LoRA, rsLoRA and DoRA: the gradients of sum(y ⊙ dy) with respect to
 * the trained A, B and m (ModuleGradCheck) and to the input x (GradCase). DoRA's row norm is detached, so for
 * A and B the numeric side differences DoRA's composite with n held at its starting value.
 */
class LoraLinearGradTest {
    static final DataType F64 = DataType.DOUBLE;

    static Stream<Named<LoraOptions>> options() {
        return Stream.of(
            Named.of("LoRA r 3 alpha 6", LoraOptions.lora(3, 6)),
            Named.of("rsLoRA r 4 alpha 2", new LoraOptions(4, 2, true, false)),
            Named.of("DoRA r 2 alpha 4", new LoraOptions(2, 4, false, true)),
            Named.of("DoRA with rsLoRA r 3 alpha 5", new LoraOptions(3, 5, true, true)));
    }

    /** A LoraLinear with a random base (with bias) and a random, non-zero B (a zero B hides A's gradient). */
    static LoraLinear layer(LoraOptions o) {
        SplittableRandom rng = new SplittableRandom(17);
        LoraLinear lora = new LoraLinear(new Linear(5, 4, true, F64, Init.normal(0, 0.8, rng)), o, rng);
        try (GradMode.Scope off = GradMode.disable()) {
            lora.loraB().weight().mutate(b -> b.assign(Init.normal(0, 0.5, rng).create(F64, b.shape())));
            lora.bias().mutate(b -> b.assign(Init.normal(0, 0.5, rng).create(F64, b.shape())));
        }
        return lora;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("options")
    void adapterParametersMatchCentralDifferences(LoraOptions o) {
        LoraLinear lora = layer(o);
        SplittableRandom rng = new SplittableRandom(3);
        INDArray x = Init.normal(0, 1, rng).create(F64, 2, 3, 5);
        INDArray dy = Init.normal(0, 1, rng).create(F64, 2, 3, 4);
        INDArray fixedNorm = o.dora() ? lora.weightNorm() : null;
        Supplier<Tensor> loss = () -> {
            Tensor y = o.dora() ? lora.forward(Tensor.of(x), fixedNorm) : lora.forward(Tensor.of(x));
            return Reductions.sum(Elementwise.mul(y, Tensor.of(dy)));
        };
        ModuleGradCheck.assertMatches(lora, loss);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("options")
    void inputMatchesCentralDifferences(LoraOptions o) {
        LoraLinear lora = layer(o);
        // the live forward: DoRA's norm does not depend on x
        GradCase.of(in -> lora.forward(in[0]), GradCase.shape(2, 3, 5)).assertMatches(new SplittableRandom(29));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("options")
    void baseWeightAndBiasGetNoGradient(LoraOptions o) {
        LoraLinear lora = layer(o);
        Tensor x = Tensor.of(Init.normal(0, 1, new SplittableRandom(5)).create(F64, 3, 5));
        Reductions.sum(lora.forward(x)).backward();
        assertNull(lora.weight().grad(), "frozen base weight");
        assertNull(lora.bias().grad(), "frozen base bias");
        assertNotNull(lora.loraA().weight().grad(), "lora_A");
        assertNotNull(lora.loraB().weight().grad(), "lora_B");
    }
}
