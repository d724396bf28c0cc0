// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.NativeKernels;
import spindle.autograd.kernels.NativeOptim;
import spindle.autograd.kernels.SmallKernels;
import spindle.testing.NativeRequirement;

/**
 * The native float32 updates and gradient clip ({@link NativeOptim}) against the Java loops, bit for bit: the
 * parameters, every state buffer and the clip's norm after several steps, for Adam, AdamW, amsgrad, lerp's both
 * formulas and SGD's variants, on parameters from 1 element to above the Java loops' limit, with gradients holding
 * zeros of both signs, subnormals, huge values, infinities and NaNs (every NaN counted alike).
 */
class NativeUpdatesTest {
    static final List<Function<Map<String, Tensor>, Optimizer>> OPTIMIZERS = new ArrayList<>(SmallArraysTest.OPTIMIZERS);

    static {
        OPTIMIZERS.add(p -> new Adam(p, AdamOptions.adamW().withLr(0.02).withWeightDecay(0.05).withAmsgrad(true)));
        OPTIMIZERS.add(p -> new Adam(p, AdamOptions.adam().withLr(0.003).withWeightDecay(0.01).withBetas(0.7, 0.5)
            .withAmsgrad(true).withEps(1e-3)));
        OPTIMIZERS.add(p -> new Sgd(p, SgdOptions.of(0.1).withMomentum(0.5).withNesterov(true)));
        OPTIMIZERS.add(p -> new Sgd(p, SgdOptions.of(0.1).withWeightDecay(0.3)));
    }

    private static final int[] SIZES = {1, 3, 8, 37, SmallArrays.DEFAULT_MAX_ELEMENTS + 1, 40_003};

    @BeforeEach
    void nativeKernelsInUse() {
        Optional<String> skip = NativeRequirement.unavailable(NativeKernels.whyNot());
        assumeTrue(skip.isEmpty(), skip.orElse(""));
    }

    @Test
    void nativeStepsAndClipEqualTheJavaLoopsBitForBit() {
        for (int k = 0; k < OPTIMIZERS.size(); k++) {
            for (int n : SIZES) {
                for (boolean edges : new boolean[] {false, true}) {
                    Map<String, double[]> nat = run(OPTIMIZERS.get(k), n, edges);
                    Map<String, double[]> java;
                    SmallArrays.setMaxElements(Integer.MAX_VALUE);
                    try (SmallKernels.Scope off = NativeKernels.off()) {
                        java = run(OPTIMIZERS.get(k), n, edges);
                    } finally {
                        SmallArrays.setMaxElements(SmallArrays.DEFAULT_MAX_ELEMENTS);
                    }
                    assertSameBits(java, nat, "optimizer " + k + ", " + n + " elements" + (edges ? ", edge values" : ""));
                }
            }
        }
    }

    /** A parameter's gradient as a slice of a flat buffer (a data-parallel replica's) is addressed at its offset. */
    @Test
    void aGradientSlicedFromAFlatBufferStepsAsItsCopy() {
        SplittableRandom rng = new SplittableRandom(5);
        INDArray flat = Nd4j.createFromArray(values(rng, 3 * 1000, false));
        INDArray slice = flat.get(NDArrayIndex.interval(1000, 2000)).reshape(10, 100);
        assertTrue(NativeOptim.fits(slice), "a slice of consecutive elements is dense");
        AdamOptions o = AdamOptions.adamW().withLr(0.01).withWeightDecay(0.1);
        float[] w0 = values(rng, 1000, false);
        Tensor fromSlice = param(w0, 10, 100);
        Tensor fromCopy = param(w0, 10, 100);
        ParamState sliceState = new ParamState();
        ParamState copyState = new ParamState();
        try (var off = GradMode.disable()) {
            assertTrue(SmallUpdates.adam(fromSlice, slice, sliceState, o, 1));
            try (SmallKernels.Scope javaOnly = NativeKernels.off()) {
                assertTrue(SmallUpdates.adam(fromCopy, slice.dup(), copyState, o, 1));
            }
        }
        assertSameBits(Map.of("w", floats(fromCopy.value()), "m", floats(copyState.buffer("exp_avg"))),
            Map.of("w", floats(fromSlice.value()), "m", floats(sliceState.buffer("exp_avg"))), "slice");
        assertEquals(1, fromSlice.version(), "the step changes the parameter through mutate");
    }

    /**
     * A state holding what no step makes (as a loaded checkpoint may): NaNs, infinities, negative second moments
     * and zeros of both signs in every buffer, so amsgrad's running maximum meets a NaN beside a number.
     */
    @Test
    void specialValuesInAStateStepAsInJava() {
        List<OptimizerOptions> rules = List.of(AdamOptions.adam().withAmsgrad(true).withWeightDecay(0.01),
            AdamOptions.adamW().withAmsgrad(true).withBetas(0.2, 0.9), SgdOptions.of(0.1).withMomentum(0.9));
        for (OptimizerOptions o : rules) {
            for (int n : new int[] {1000, 40_003}) {
                Map<String, double[]> nat = stepWithSpecialState(o, n);
                Map<String, double[]> java;
                SmallArrays.setMaxElements(Integer.MAX_VALUE);
                try (SmallKernels.Scope off = NativeKernels.off()) {
                    java = stepWithSpecialState(o, n);
                } finally {
                    SmallArrays.setMaxElements(SmallArrays.DEFAULT_MAX_ELEMENTS);
                }
                assertSameBits(java, nat, o + ", " + n + " elements");
            }
        }
    }

    private static Map<String, double[]> stepWithSpecialState(OptimizerOptions o, int n) {
        SplittableRandom rng = new SplittableRandom(n);
        Tensor w = param(values(rng, n, true), n);
        INDArray grad = Nd4j.create(values(rng, n, true), new long[] {n}, 'c');
        ParamState state = new ParamState();
        state.setStep(3);
        List<String> keys = o instanceof AdamOptions ? List.of("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
            : List.of("momentum_buffer");
        for (String key : keys) {
            state.put(key, Nd4j.create(values(rng, n, true), new long[] {n}, 'c'));
        }
        try (var off = GradMode.disable()) {
            assertTrue(o instanceof AdamOptions a ? SmallUpdates.adam(w, grad, state, a, state.step())
                : SmallUpdates.sgd(w, grad, state, (SgdOptions) o));
        }
        Map<String, double[]> out = new LinkedHashMap<>();
        out.put("w", floats(w.value()));
        state.buffers().forEach((key, a) -> out.put(key, floats(a)));
        return out;
    }

    @Test
    void arraysThatShareMemoryOrDifferTakeNoNativeKernel() {
        INDArray rows = Nd4j.zeros(DataType.FLOAT, 4, 5);
        INDArray a = rows.get(NDArrayIndex.interval(0, 2), NDArrayIndex.all());   // elements 0-9
        INDArray b = rows.get(NDArrayIndex.interval(1, 3), NDArrayIndex.all());   // elements 5-14
        INDArray c = rows.get(NDArrayIndex.interval(2, 4), NDArrayIndex.all());   // elements 10-19
        assertTrue(NativeOptim.fits(a, c, null));
        assertFalse(NativeOptim.fits(a, b), "overlapping");
        assertFalse(NativeOptim.fits(a, a), "the same array twice");
        assertFalse(NativeOptim.fits(a, Nd4j.zeros(DataType.FLOAT, 11)), "lengths differ");
        assertFalse(NativeOptim.fits(Nd4j.zeros(DataType.DOUBLE, 4)), "float64");
        assertFalse(NativeOptim.fits(Nd4j.zeros(DataType.FLOAT, 4, 6).transpose()), "a transposed view");
    }

    /** Parameter, state buffers and clip norms after 3 steps (each clipped to norm 0.5 unless edges) as floats. */
    private static Map<String, double[]> run(Function<Map<String, Tensor>, Optimizer> make, int n, boolean edges) {
        SplittableRandom rng = new SplittableRandom(11L * n + (edges ? 1 : 0));
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("w", param(values(rng, n, false), n));
        p.put("b", param(values(rng, 3, false), 3));
        Optimizer opt = make.apply(p);
        List<Double> norms = new ArrayList<>();
        for (int step = 0; step < 3; step++) {
            for (Tensor t : p.values()) {
                Grads.set(t, toDoubles(values(rng, (int) t.value().length(), edges)));
            }
            if (!edges) {
                norms.add(GradClip.clipGlobalNorm(opt.parameters(), 0.5));
            }
            opt.step();
        }
        Map<String, double[]> out = new LinkedHashMap<>();
        p.forEach((name, t) -> out.put(name, floats(t.value())));
        opt.stateTensors().forEach((name, a) -> out.put(name, floats(a)));
        out.put("clip norms", norms.stream().mapToDouble(Double::doubleValue).toArray());
        return out;
    }

    /** Values in (-1, 1); with {@code edges} every 7th is a zero of either sign, a subnormal, huge, infinite or NaN. */
    private static float[] values(SplittableRandom rng, int n, boolean edges) {
        float[] special = {0f, -0f, 1e-40f, -3e-42f, 3e38f, -2e37f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
            Float.NaN, 1e-20f};
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = edges && rng.nextInt(7) == 0 ? special[rng.nextInt(special.length)] : (float) rng.nextDouble(-1, 1);
        }
        return x;
    }

    private static Tensor param(float[] values, long... shape) {
        return Tensor.of(Nd4j.create(values, shape, 'c')).requiresGrad(true);
    }

    private static double[] toDoubles(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            d[i] = x[i];
        }
        return d;
    }

    /** a's values widened to double (exactly, the sign of zero kept). */
    private static double[] floats(INDArray a) {
        return toDoubles(a.dup('c').reshape(-1).toFloatVector());
    }

    private static void assertSameBits(Map<String, double[]> expected, Map<String, double[]> actual, String what) {
        assertEquals(expected.keySet(), actual.keySet(), what);
        for (String name : expected.keySet()) {
            double[] e = expected.get(name);
            double[] a = actual.get(name);
            assertEquals(e.length, a.length, what + ", " + name);
            for (int i = 0; i < e.length; i++) {
                if (Double.doubleToLongBits(e[i]) != Double.doubleToLongBits(a[i])) {   // every NaN alike
                    throw new AssertionError(what + ", " + name + "[" + i + "]: java " + e[i] + ", native " + a[i]);
                }
            }
        }
    }
}
