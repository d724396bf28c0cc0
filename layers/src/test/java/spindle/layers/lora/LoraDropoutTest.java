// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static spindle.layers.lora.LoraLinearTest.F64;
import static spindle.layers.lora.LoraLinearTest.assertClose;
import static spindle.layers.lora.LoraLinearTest.input;
import static spindle.layers.lora.LoraLinearTest.layer;
import static spindle.layers.lora.LoraLinearTest.randomizeAdapter;

import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Activations;
import spindle.autograd.ops.Elementwise;
import spindle.autograd.ops.Reductions;
import spindle.layers.ModuleGradCheck;

/**
 * lora_dropout as PEFT applies it: on the update's input for LoRA; for DoRA x·Wᵀ + b + (f - 1) ⊙ x'·Wᵀ +
 * f ⊙ s·B·A·x'; nothing (and no seed drawn) in eval mode; masks seeded from the layer's or the trainer's source.
 */
class LoraDropoutTest {
    static final double P = 0.3;
    static final long SEED = 1234;

    /** x' as the layer draws it from seed {@link #SEED}: the same mask Activations.dropout makes. */
    static INDArray dropped(INDArray x) {
        return Activations.dropout(Tensor.of(x), P, true, SEED).value();
    }

    static INDArray linear(INDArray x, INDArray w) {
        return x.mmul(w.transpose());   // x [rows, in]
    }

    static LoraLinear withDropout(LoraOptions o, long seed) {
        LoraLinear lora = layer(6, 5, o.withDropout(P), seed);
        randomizeAdapter(lora, seed + 1);
        lora.setDropoutSeeds(() -> SEED);
        return lora;
    }

    @Test
    void loraDropsTheUpdatesInputOnly() {
        LoraLinear lora = withDropout(LoraOptions.lora(3, 6), 1);
        INDArray x = input(2, 6, 6);
        INDArray w = lora.weight().value();
        INDArray ba = lora.loraB().weight().value().mmul(lora.loraA().weight().value()).muli(lora.options().scale());
        INDArray want = linear(x, w).addiRowVector(lora.bias().value()).addi(linear(dropped(x), ba));
        assertClose("LoRA with dropout", want, lora.forward(Tensor.of(x)).value(), 1e-13);
        assertFalse(dropped(x).equalsWithEps(x, 1e-9), "the mask drops something");
    }

    @Test
    void doraWithDropoutIsPeftsForm() {
        LoraLinear dora = withDropout(new LoraOptions(2, 4, false, true), 3);
        INDArray x = input(4, 6, 6);
        INDArray w = dora.weight().value();
        INDArray ba = dora.loraB().weight().value().mmul(dora.loraA().weight().value()).muli(dora.options().scale());
        INDArray f = dora.magnitude().value().div(w.add(ba).norm2(1));
        INDArray xd = dropped(x);
        INDArray want = linear(x, w).addiRowVector(dora.bias().value())
            .addi(linear(xd, w).muliRowVector(f.sub(1.0)))
            .addi(linear(xd, ba).muliRowVector(f));
        assertClose("DoRA with dropout", want, dora.forward(Tensor.of(x)).value(), 1e-13);
    }

    @Test
    void evalModeNeitherDropsNorDrawsASeed() {
        for (LoraOptions o : LoraLinearTest.allKinds()) {
            LoraLinear lora = withDropout(o, 5);
            lora.setDropoutSeeds(() -> {
                throw new AssertionError("eval mode drew a dropout seed");
            });
            lora.eval();
            INDArray x = input(6, 2, 6);
            LoraLinear plain = layer(6, 5, o, 5);
            randomizeAdapter(plain, 6);
            assertClose(o + " eval", plain.forward(Tensor.of(x)).value(), lora.forward(Tensor.of(x)).value(), 1e-14);
        }
    }

    @Test
    void theDefaultMasksAreSplitOffTheInitGeneratorSoTheSeedDecides() {
        INDArray x = input(7, 4, 6);
        INDArray a = layer(6, 5, LoraOptions.lora(2, 4).withDropout(0.5), 9).forward(Tensor.of(x)).value();
        INDArray b = layer(6, 5, LoraOptions.lora(2, 4).withDropout(0.5), 9).forward(Tensor.of(x)).value();
        assertEquals(a, b);
        LoraLinear twice = layer(6, 5, LoraOptions.lora(2, 4).withDropout(0.5), 9);
        randomizeAdapter(twice, 10);
        INDArray first = twice.forward(Tensor.of(x)).value().dup();
        assertFalse(first.equalsWithEps(twice.forward(Tensor.of(x)).value(), 1e-12), "a new mask per call");
    }

    @Test
    void gradientsWithAFixedMaskMatchCentralDifferences() {
        for (LoraOptions o : LoraLinearTest.allKinds()) {
            LoraLinear lora = withDropout(o, 11);
            SplittableRandom rng = new SplittableRandom(12);
            INDArray x = spindle.layers.Init.normal(0, 1, rng).create(F64, 2, 3, 6);
            INDArray dy = spindle.layers.Init.normal(0, 1, rng).create(F64, 2, 3, 5);
            INDArray norm = o.dora() ? lora.weightNorm() : null;
            Supplier<Tensor> loss = () -> {
                Tensor y = o.dora() ? lora.forward(Tensor.of(x), norm) : lora.forward(Tensor.of(x));
                return Reductions.sum(Elementwise.mul(y, Tensor.of(dy)));
            };
            ModuleGradCheck.assertMatches(lora, loss);
        }
    }
}
