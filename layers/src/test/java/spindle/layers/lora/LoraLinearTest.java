// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.layers.Init;
import spindle.layers.Linear;

/** LoraLinear's state names, init, scale, B = 0 identity, DoRA's unscaled bias, and merge / unmerge. */
class LoraLinearTest {
    static final DataType F64 = DataType.DOUBLE;

    static List<LoraOptions> allKinds() {
        return List.of(LoraOptions.lora(4, 8), new LoraOptions(4, 8, true, false), new LoraOptions(4, 8, false, true),
            new LoraOptions(3, 5, true, true));
    }

    static LoraLinear layer(int in, int out, LoraOptions o, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Linear base = new Linear(in, out, true, F64, Init.normal(0, 0.5, rng));
        try (GradMode.Scope off = GradMode.disable()) {
            base.bias().mutate(b -> b.assign(Init.normal(0, 0.5, rng).create(F64, out)));
        }
        return new LoraLinear(base, o, rng);
    }

    static void randomizeAdapter(LoraLinear lora, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        try (GradMode.Scope off = GradMode.disable()) {
            lora.loraB().weight().mutate(b -> b.assign(Init.normal(0, 0.3, rng).create(F64, b.shape())));
            if (lora.magnitude() != null) {
                lora.magnitude().mutate(m -> m.muli(Init.uniform(0.5, rng).create(F64, m.shape()).addi(1)));
            }
        }
    }

    static INDArray input(long seed, long... shape) {
        return Init.normal(0, 1, new SplittableRandom(seed)).create(F64, shape);
    }

    static void assertClose(String what, INDArray want, INDArray got, double tol) {
        assertArrayEquals(want.shape(), got.shape(), what + " shape");
        double err = want.sub(got).amaxNumber().doubleValue();
        double errMin = want.sub(got).aminNumber().doubleValue();
        double worst = Math.max(Math.abs(err), Math.abs(errMin));
        if (!(worst <= tol) || want.isNaN().any() || got.isNaN().any()) {
            fail(what + ": max |diff| " + worst + " > " + tol);
        }
    }

    @Test
    void stateNamesArePeftsAndOnlyTheAdapterTrains() {
        LoraLinear dora = layer(6, 5, new LoraOptions(2, 4, false, true), 1);
        assertEquals(List.of("weight", "bias", "lora_magnitude_vector", "lora_A.weight", "lora_B.weight"),
            List.copyOf(dora.stateDict().keySet()));
        assertEquals(List.of("lora_magnitude_vector", "lora_A.weight", "lora_B.weight"),
            List.copyOf(dora.trainableParameters().keySet()));
        assertArrayEquals(new long[] {2, 6}, dora.loraA().weight().shape());
        assertArrayEquals(new long[] {5, 2}, dora.loraB().weight().shape());
        assertArrayEquals(new long[] {5}, dora.magnitude().shape());
        assertEquals(2 * 6 + 5 * 2 + 5, dora.trainableParameterCount());
        LoraLinear plain = layer(6, 5, LoraOptions.lora(2, 4), 1);
        assertFalse(plain.stateDict().containsKey("lora_magnitude_vector"));
    }

    @Test
    void theBaseArraysAreSharedSoABaseCheckpointLoadsIntoTheWrappedLinear() {
        Linear base = new Linear(4, 3, false, F64, Init.normal(0, 1, new SplittableRandom(2)));
        LoraLinear lora = new LoraLinear(base, LoraOptions.lora(2, 2), new SplittableRandom(3));
        assertTrue(lora.weight().value() == base.weight().value(), "weight array shared, not copied");
    }

    @Test
    void scaleIsAlphaOverROrOverSqrtR() {
        assertEquals(16.0 / 8, LoraOptions.lora(8, 16).scale(), 0);
        assertEquals(16.0 / Math.sqrt(8), new LoraOptions(8, 16, true, false).scale(), 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LoraOptions.lora(0, 16));
        assertTrue(e.getMessage().contains("lora r"), e.getMessage());
    }

    @Test
    void aIsKaimingUniformWithASqrt5AndBIsZeroAndTheSeedDecides() {
        int in = 256;
        LoraLinear lora = layer(in, 8, LoraOptions.lora(16, 32), 7);
        INDArray a = lora.loraA().weight().value();
        double bound = 1 / Math.sqrt(in);
        assertTrue(a.amaxNumber().doubleValue() <= bound, "max |A| <= 1/sqrt(in)");
        double mean = a.meanNumber().doubleValue();
        double var = a.varNumber().doubleValue();
        // 4096 draws of U(-b, b): mean 0 (sd b/sqrt(3*4096) ~ 0.009 b), variance b^2/3 (within a few percent)
        assertTrue(Math.abs(mean) <= 0.05 * bound, "mean " + mean);
        assertEquals(bound * bound / 3, var, 0.1 * bound * bound / 3, "variance");
        assertEquals(0.0, lora.loraB().weight().value().amaxNumber().doubleValue(), 0);
        assertEquals(a, layer(in, 8, LoraOptions.lora(16, 32), 7).loraA().weight().value(), "same seed, same A");
        assertFalse(a.equals(layer(in, 8, LoraOptions.lora(16, 32), 8).loraA().weight().value()), "seed 8");
    }

    @ParameterizedTest
    @MethodSource("allKinds")
    void withBZeroTheOutputIsTheBases(LoraOptions o) {
        LoraLinear lora = layer(6, 5, o, 11);
        INDArray x = input(4, 2, 3, 6);
        INDArray base = x.reshape(6, 6).mmul(lora.weight().value().transpose()).addiRowVector(lora.bias().value());
        assertClose(o + ": y", base.reshape(2, 3, 5), lora.forward(Tensor.of(x)).value(), 1e-14);
    }

    @Test
    void doraScalesTheDirectionButNotTheBias() {
        LoraLinear dora = layer(6, 5, new LoraOptions(2, 4, false, true), 12);
        try (GradMode.Scope off = GradMode.disable()) {
            dora.magnitude().mutate(m -> m.muli(2));   // with B = 0, f = m / ||W|| = 2 on every row
        }
        INDArray x = input(5, 3, 6);
        INDArray want = x.mmul(dora.weight().value().transpose()).muli(2).addiRowVector(dora.bias().value());
        assertClose("2 W x + b", want, dora.forward(Tensor.of(x)).value(), 1e-13);
    }

    @ParameterizedTest
    @MethodSource("allKinds")
    void mergedOutputEqualsUnmergedAndUnmergeRestoresTheBaseWeight(LoraOptions o) {
        LoraLinear lora = layer(6, 5, o, 21);
        randomizeAdapter(lora, 22);
        INDArray x = input(6, 4, 6);
        INDArray before = lora.forward(Tensor.of(x)).value().dup();
        INDArray w0 = lora.weight().value().dup();
        lora.merge();
        assertTrue(lora.isMerged());
        assertClose(o + ": merged y", before, lora.forward(Tensor.of(x)).value(), 1e-12);
        assertFalse(w0.equalsWithEps(lora.weight().value(), 1e-6), "the merge changed W");
        lora.unmerge();
        assertClose(o + ": W after unmerge", w0, lora.weight().value(), 1e-12);
        assertClose(o + ": y after unmerge", before, lora.forward(Tensor.of(x)).value(), 1e-12);
    }

    @ParameterizedTest
    @MethodSource("allKinds")
    void safeMergeRefusesANonFiniteWeightNamingTheModule(LoraOptions o) {
        LoraLinear lora = layer(6, 5, o, 31);
        INDArray w0 = lora.weight().value().dup();
        try (GradMode.Scope off = GradMode.disable()) {
            lora.loraB().weight().mutate(b -> b.putScalar(3, Double.NaN));
        }
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> lora.safeMerge("model.layers.0.self_attn.q_proj"));
        assertTrue(e.getMessage().contains("model.layers.0.self_attn.q_proj"), e.getMessage());
        assertFalse(lora.isMerged());
        assertEquals(w0, lora.weight().value(), "W untouched");
    }

    @Test
    void mergeTwiceOrUnmergeWithoutMergeIsAnError() {
        LoraLinear lora = layer(4, 3, LoraOptions.lora(2, 2), 41);
        assertThrows(IllegalStateException.class, lora::unmerge);
        lora.merge();
        assertThrows(IllegalStateException.class, lora::merge);
    }

    @Test
    void aMergedDoraRefusesAnExplicitNorm() {
        LoraLinear dora = layer(4, 3, new LoraOptions(2, 2, false, true), 42);
        INDArray norm = dora.weightNorm();
        dora.merge();
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> dora.forward(Tensor.of(input(1, 2, 4)), norm));
        assertTrue(e.getMessage().contains("merged"), e.getMessage());
    }

    @Test
    void aNullBaseIsAClearError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> new LoraLinear(null, LoraOptions.lora(2, 2), new SplittableRandom(1)));
        assertTrue(e.getMessage().contains("base linear"), e.getMessage());
    }
}
