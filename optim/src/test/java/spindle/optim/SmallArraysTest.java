// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.executioner.OpExecutioner.ProfilingMode;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.profiler.OpProfiler;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.NativeKernels;
import spindle.autograd.kernels.SmallKernels;

/** Small parameters step and clip by Java loops, with no ND4J op, to the values the ND4J ops give. */
class SmallArraysTest {
    static final List<Function<Map<String, Tensor>, Optimizer>> OPTIMIZERS = List.of(
        p -> new Adam(p, AdamOptions.adam().withLr(0.01).withWeightDecay(0.02)),
        p -> new Adam(p, AdamOptions.adamW().withLr(0.01).withWeightDecay(0.1).withBetas(0.3, 0.9)),
        p -> new Adam(p, AdamOptions.adam().withLr(0.01).withAmsgrad(true)),
        p -> new Sgd(p, SgdOptions.of(0.05).withMomentum(0.9).withNesterov(true).withWeightDecay(0.01)),
        p -> new Sgd(p, SgdOptions.of(0.05).withMomentum(0.8).withDampening(0.3)),
        p -> new Sgd(p, SgdOptions.of(0.05)));

    @ParameterizedTest
    @EnumSource(names = {"FLOAT", "DOUBLE"})
    void javaLoopsGiveTheNd4jPathsValues(DataType dtype) {
        for (int k = 0; k < OPTIMIZERS.size(); k++) {
            Map<String, INDArray> loop = run(OPTIMIZERS.get(k), dtype, SmallArrays.DEFAULT_MAX_ELEMENTS);
            Map<String, INDArray> nd4j = run(OPTIMIZERS.get(k), dtype, 0);
            for (String name : loop.keySet()) {
                double err = loop.get(name).castTo(DataType.DOUBLE).sub(nd4j.get(name).castTo(DataType.DOUBLE))
                    .amaxNumber().doubleValue();
                double tol = dtype == DataType.FLOAT ? 1e-5 : 1e-13;
                assertTrue(err <= tol, "optimizer " + k + ", " + name + ": |loop - nd4j| = " + err);
            }
        }
    }

    @Test
    void aSmallModelsStepAndClipMakeNoNd4jOp() {
        Map<String, Tensor> p = params(DataType.FLOAT, new SplittableRandom(1));
        Optimizer adam = OPTIMIZERS.get(1).apply(p);
        setGrads(p, new SplittableRandom(2));
        OpProfiler.getInstance().reset();
        Nd4j.getExecutioner().setProfilingMode(ProfilingMode.OPERATIONS);
        try {
            GradClip.clipGlobalNorm(adam.parameters(), 0.1);
            adam.step();
            adam.step();
            assertEquals(0, OpProfiler.getInstance().getInvocationsCount());
        } finally {
            Nd4j.getExecutioner().setProfilingMode(ProfilingMode.DISABLED);
        }
    }

    @Test
    void viewsOtherOrdersDtypesAndLargeArraysTakeTheNd4jPath() {
        INDArray whole = Nd4j.rand(DataType.FLOAT, 4, 6);
        assertTrue(SmallArrays.fit(whole, Nd4j.rand(DataType.FLOAT, 4, 6)));
        assertTrue(SmallArrays.fit(whole.reshape(6, 4), whole.reshape(24)), "reshapes of the whole buffer");
        assertFalse(SmallArrays.fit(whole.get(NDArrayIndex.interval(1, 3), NDArrayIndex.all())), "a view of part");
        assertFalse(SmallArrays.fit(whole.transpose()), "a transposed view");
        assertFalse(SmallArrays.fit(whole, Nd4j.rand(DataType.FLOAT, 'f', 4, 6)), "Fortran order");
        assertFalse(SmallArrays.fit(whole, Nd4j.rand(DataType.DOUBLE, 4, 6)), "mixed dtypes");
        assertFalse(SmallArrays.fit(Nd4j.zeros(DataType.BFLOAT16, 4)), "bfloat16");
        assertFalse(SmallArrays.fit(Nd4j.zeros(DataType.FLOAT, SmallArrays.DEFAULT_MAX_ELEMENTS + 1)), "too long");
    }

    /** The parameters after 5 steps (clipped to norm 0.5) with the Java loops' limit at {@code limit}. */
    private static Map<String, INDArray> run(Function<Map<String, Tensor>, Optimizer> make, DataType dt, int limit) {
        Map<String, Tensor> p = params(dt, new SplittableRandom(7));
        Optimizer opt = make.apply(p);
        SplittableRandom rng = new SplittableRandom(8);
        SmallArrays.setMaxElements(limit);
        try (SmallKernels.Scope off = NativeKernels.off()) {   // the Java loops or ND4J, not the native kernels
            for (int step = 0; step < 5; step++) {
                setGrads(p, rng);
                GradClip.clipGlobalNorm(opt.parameters(), 0.5);
                opt.step();
            }
        } finally {
            SmallArrays.setMaxElements(SmallArrays.DEFAULT_MAX_ELEMENTS);
        }
        Map<String, INDArray> out = new LinkedHashMap<>();
        p.forEach((name, t) -> out.put(name, t.value().dup()));
        opt.stateTensors().forEach((name, a) -> out.put(name, a.dup()));
        return out;
    }

    private static Map<String, Tensor> params(DataType dt, SplittableRandom rng) {
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("w", Grads.param(dt, new long[] {6, 5}, gaussian(rng, 30)));
        p.put("b", Grads.param(dt, new long[] {5}, gaussian(rng, 5)));
        return p;
    }

    private static void setGrads(Map<String, Tensor> p, SplittableRandom rng) {
        p.values().forEach(t -> Grads.set(t, gaussian(rng, (int) t.value().length())));
    }

    private static double[] gaussian(SplittableRandom rng, int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = rng.nextDouble(-1, 1);
        }
        return x;
    }
}
