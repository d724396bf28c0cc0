// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static spindle.optim.Grads.param;
import static spindle.optim.Grads.values;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.autograd.Tensor;

class OptimizerTest {
    static final long[] VEC2 = {2};
    static final long[] MAT22 = {2, 2};

    @Test
    void aStepInParallelLanesEqualsTheSerialStep() throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(3);
        try {
            for (int lanes : new int[] {1, 2, 3, 5}) {
                Map<String, Tensor> serial = parameters();
                Map<String, Tensor> parallel = parameters();
                var a = new Adam(serial, AdamOptions.adamW().withLr(0.1).withWeightDecay(0.1));
                var b = new Adam(parallel, AdamOptions.adamW().withLr(0.1).withWeightDecay(0.1));
                for (int step = 1; step <= 3; step++) {
                    for (String k : serial.keySet()) {   // the same gradients, new each step
                        double[] g = new double[(int) serial.get(k).value().length()];
                        for (int i = 0; i < g.length; i++) {
                            g[i] = Math.sin(step * 7 + i + k.length());
                        }
                        Grads.set(serial.get(k), g);
                        Grads.set(parallel.get(k), g);
                    }
                    a.step();
                    b.step(pool, lanes);
                    a.zeroGrad();
                    b.zeroGrad();
                }
                for (String k : serial.keySet()) {
                    assertArrayEquals(values(serial.get(k)), values(parallel.get(k)), 0, k + " with " + lanes + " lanes");
                }
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void adamAtLearningRateZeroLeavesTheParametersAndStillMovesTheMoments() {
        for (AdamOptions o : List.of(AdamOptions.adam(), AdamOptions.adamW().withWeightDecay(0.1))) {
            Tensor p = param(DataType.DOUBLE, VEC2, 0.5, -2);
            var adam = new Adam(Map.of("p", p), o.withLr(0));
            Grads.set(p, new double[] {1e-3, -4});
            adam.step();
            assertArrayEquals(new double[] {0.5, -2}, values(p), 0, o.toString());   // as torch.optim at lr 0
            assertArrayEquals(new double[] {1e-4, -0.4},
                adam.stateTensors().get("p.exp_avg").toDoubleVector(), 1e-15, o.toString());
        }
    }

    /** Parameters of different sizes, so that the lanes get different shares. */
    private static Map<String, Tensor> parameters() {
        Map<String, Tensor> named = new LinkedHashMap<>();
        named.put("big", param(DataType.DOUBLE, new long[] {3, 4}, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
        named.put("mid", param(DataType.DOUBLE, new long[] {5}, 1, 2, 3, 4, 5));
        named.put("small", param(DataType.DOUBLE, VEC2, -1, 1));
        named.put("tiny", param(DataType.DOUBLE, new long[] {1}, 3));
        return named;
    }

    @Test
    void lanesAreDealtLargestFirstToTheLightestLane() {
        assertEquals(List.of(List.of(0, 3), List.of(2, 1)), Lanes.deal(List.of(9L, 2L, 8L, 1L), 2));
        assertEquals(List.of(List.of(0, 2), List.of(1)), Lanes.deal(List.of(5L, 5L, 5L), 2), "ties go to the lower lane");
        assertEquals(List.of(List.of(0, 1)), Lanes.deal(List.of(1L, 1L), 1));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> Lanes.deal(List.of(1L), 0));
    }

    @Test
    void eachGroupStepsWithItsOwnLearningRate() {
        Tensor w = param(DataType.DOUBLE, MAT22, 1, 1, 1, 1);
        Tensor b = param(DataType.DOUBLE, VEC2, 1, 1);
        var opt = new Sgd(List.of(ParamGroup.of(Map.of("w", w)), ParamGroup.of(Map.of("b", b)).withLr(0.01)),
            SgdOptions.of(0.1));
        assertEquals(0.1, opt.lr(0));
        assertEquals(0.01, opt.lr(1));
        Grads.set(w, 1, 1, 1, 1);
        Grads.set(b, 1, 1);
        opt.step();
        assertArrayEquals(new double[] {0.9, 0.9, 0.9, 0.9}, values(w));
        assertArrayEquals(new double[] {0.99, 0.99}, values(b));
        opt.setLr(1, 0.5);
        opt.step();
        assertArrayEquals(new double[] {0.99 - 0.5, 0.99 - 0.5}, values(b));
        assertEquals(0.01, opt.initialLr(1), "a schedule scales the initial lr, not the current one");
    }

    @Test
    void decayMatricesOnlyDecaysRankTwoAndAboveAndDropsFrozen() {
        Map<String, Tensor> named = new LinkedHashMap<>();
        named.put("model.embed_tokens.weight", param(DataType.FLOAT, new long[] {3, 2}, 1, 1, 1, 1, 1, 1));
        named.put("model.norm.weight", param(DataType.FLOAT, VEC2, 1, 1));
        named.put("scale", param(DataType.FLOAT, new long[0], 1));
        named.put("model.layers.0.mlp.up_proj.weight", param(DataType.FLOAT, MAT22, 1, 1, 1, 1).requiresGrad(false));
        List<ParamGroup> groups = ParamGroups.decayMatricesOnly(named, 0.1);
        assertEquals(List.of("model.embed_tokens.weight"), List.copyOf(groups.get(0).params().keySet()));
        assertEquals(List.of("model.norm.weight", "scale"), List.copyOf(groups.get(1).params().keySet()));
        var opt = new Adam(groups, AdamOptions.adamW().withLr(0.1));
        assertEquals(0.1, opt.options(0).weightDecay());
        assertEquals(0.0, opt.options(1).weightDecay());
        // With zero gradients Adam's part is 0 / (0 + eps) = 0, so only the decoupled decay moves p.
        opt.parameters().forEach(p -> Grads.set(p, new double[(int) p.value().length()]));
        opt.step();
        assertArrayEquals(new float[] {0.99f, 0.99f, 0.99f, 0.99f, 0.99f, 0.99f},
            named.get("model.embed_tokens.weight").value().reshape(-1).toFloatVector());
        assertArrayEquals(new double[] {1, 1}, values(named.get("model.norm.weight")));
        assertArrayEquals(new double[] {1}, values(named.get("scale")));
    }

    @Test
    void skipsParametersWithoutGradientOrFrozenAsPyTorch() {
        Tensor a = param(DataType.DOUBLE, VEC2, 1, -1);
        Tensor b = param(DataType.DOUBLE, VEC2, 2, 2);
        Tensor c = param(DataType.DOUBLE, VEC2, 3, 3);
        Map<String, Tensor> named = new LinkedHashMap<>();
        named.put("a", a);
        named.put("b", b);
        named.put("c", c);
        var opt = new Adam(named, AdamOptions.adam().withLr(0.1));
        Grads.set(a, 0.5, -0.5);
        Grads.set(c, 1, 1);
        c.requiresGrad(false);
        opt.step();
        // Adam's first step moves each element by lr * g / (|g| + eps) = lr * sign(g) (up to eps).
        assertArrayEquals(new double[] {0.9, -0.9}, values(a), 1e-7);
        assertArrayEquals(new double[] {2, 2}, values(b));
        assertArrayEquals(new double[] {3, 3}, values(c));
        assertEquals(Map.of("a", 1L), opt.state().steps());
        assertEquals(List.of("a.exp_avg", "a.exp_avg_sq"), List.copyOf(opt.stateTensors().keySet()));
        Grads.set(b, 1, 1);
        opt.step();
        assertEquals(Map.of("a", 2L, "b", 1L), opt.state().steps(), "each parameter counts its own steps");
    }

    @Test
    void zeroGradSetsEveryGradientToNull() {
        Tensor a = param(DataType.FLOAT, VEC2, 1, 2);
        Tensor b = param(DataType.FLOAT, VEC2, 1, 2);
        var opt = new Sgd(Map.of("a", a, "b", b), SgdOptions.of(0.1));
        Grads.set(a, 1, 1);
        Grads.set(b, 1, 1);
        opt.zeroGrad();
        assertNull(a.grad());
        assertNull(b.grad());
    }

    @Test
    void stateBuffersHavePyTorchKeysAndTheParameterDtype() {
        Tensor w = param(DataType.FLOAT, MAT22, 1, 2, 3, 4);
        var adam = new Adam(Map.of("model.layers.0.mlp.up_proj.weight", w), AdamOptions.adam().withAmsgrad(true));
        Grads.set(w, 1, 1, 1, 1);
        adam.step();
        assertEquals(List.of("model.layers.0.mlp.up_proj.weight.exp_avg", "model.layers.0.mlp.up_proj.weight.exp_avg_sq",
            "model.layers.0.mlp.up_proj.weight.max_exp_avg_sq"), List.copyOf(adam.stateTensors().keySet()));
        adam.stateTensors().values().forEach(s -> assertEquals(DataType.FLOAT, s.dataType()));
        var sgd = new Sgd(Map.of("w", w), SgdOptions.of(0.1).withMomentum(0.9));
        sgd.step();
        assertEquals(List.of("w.momentum_buffer"), List.copyOf(sgd.stateTensors().keySet()));
        assertArrayEquals(new double[] {1, 1, 1, 1}, sgd.stateTensors().get("w.momentum_buffer").reshape(-1).toDoubleVector(),
            "PyTorch's first momentum buffer is the gradient itself");
    }

    @Test
    void stepSameResultWhetherScratchIsFreshOrReused() {
        // Two parameters of different shapes share the scratch buffers; the second must not see the first's values.
        Tensor big = param(DataType.DOUBLE, MAT22, 1, 2, 3, 4);
        Tensor small = param(DataType.DOUBLE, VEC2, 5, 6);
        Tensor alone = param(DataType.DOUBLE, VEC2, 5, 6);
        var shared = new Adam(Map.of("big", big, "small", small), AdamOptions.adam().withWeightDecay(0.1));
        var single = new Adam(Map.of("alone", alone), AdamOptions.adam().withWeightDecay(0.1));
        for (int i = 0; i < 3; i++) {
            Grads.set(big, 4, 3, 2, 1);
            Grads.set(small, 0.5, -0.25);
            Grads.set(alone, 0.5, -0.25);
            shared.step();
            single.step();
        }
        assertArrayEquals(values(alone), values(small));
        assertSame(DataType.DOUBLE, small.dtype());
    }
}
