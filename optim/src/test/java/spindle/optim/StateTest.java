// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Named.named;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;

/**
 * Checkpoint round trip: stopping after 50 steps, going through JSON and copied tensors, and continuing
 * gives the same bits as 100 uninterrupted steps, under a schedule and with per-parameter step counts
 * that differ (the bias gets no gradient on every third step).
 */
class StateTest {
    static final int STEPS = 100;
    static final int STOP = 50;
    static final LrSchedule SCHEDULE = LrSchedule.warmupCosine(10, STEPS, 0.1);

    static Stream<Named<Object[]>> cases() {
        Map<String, Function<Map<String, Tensor>, Optimizer>> makers = new LinkedHashMap<>();
        makers.put("SGD momentum+nesterov+wd", p -> new Sgd(groups(p),
            SgdOptions.of(0.02).withMomentum(0.9).withNesterov(true).withWeightDecay(0.01)));
        makers.put("Adam amsgrad+wd", p -> new Adam(groups(p),
            AdamOptions.adam().withLr(0.02).withAmsgrad(true).withWeightDecay(0.05)));
        makers.put("AdamW", p -> new Adam(groups(p), AdamOptions.adamW().withLr(0.02)));
        return Stream.of(DataType.FLOAT, DataType.DOUBLE).flatMap(dt -> makers.entrySet().stream()
            .map(e -> named(e.getKey() + "/" + dt, new Object[] {e.getValue(), dt})));
    }

    static List<ParamGroup> groups(Map<String, Tensor> p) {
        return ParamGroups.decayMatricesOnly(p, 0.01).stream().map(g -> g.params().containsKey(Problem.BIAS)
            ? g.withLr(0.01) : g).toList();
    }

    static void runSteps(Problem problem, Map<String, Tensor> params, Optimizer opt, int from, int to) {
        for (int step = from; step < to; step++) {
            problem.backward(params);
            if (step % 3 == 2) {
                params.get(Problem.BIAS).zeroGrad();
            }
            SCHEDULE.applyTo(opt, step);
            opt.step();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    @SuppressWarnings("unchecked")
    void resumingFromSavedStateIsBitwiseExact(Object[] payload) {
        var make = (Function<Map<String, Tensor>, Optimizer>) payload[0];
        Problem problem = Problem.create((DataType) payload[1]);
        Map<String, Tensor> straight = problem.freshParams();
        runSteps(problem, straight, make.apply(straight), 0, STEPS);

        Map<String, Tensor> first = problem.freshParams();
        Optimizer before = make.apply(first);
        runSteps(problem, first, before, 0, STOP);
        String json = before.state().toJson();
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        before.stateTensors().forEach((k, v) -> tensors.put(k, v.dup()));

        Map<String, Tensor> resumed = new LinkedHashMap<>();
        first.forEach((name, t) -> resumed.put(name, Tensor.of(t.value().dup()).requiresGrad(true)));
        Optimizer after = make.apply(resumed);
        after.loadState(OptimizerState.fromJson(json), tensors);
        assertEquals(before.state(), after.state());
        runSteps(problem, resumed, after, STOP, STEPS);
        straight.forEach((name, t) -> assertArrayEquals(Grads.values(t), Grads.values(resumed.get(name)), name));
    }

    @Test
    void stateJsonRoundTrips() {
        Problem problem = Problem.create(DataType.FLOAT);
        Map<String, Tensor> params = problem.freshParams();
        var opt = new Adam(groups(params), AdamOptions.adam().withLr(1.0 / 3).withBetas(0.8, 0.95));
        runSteps(problem, params, opt, 0, 4);
        OptimizerState state = opt.state();
        String json = state.toJson();
        assertEquals(state, OptimizerState.fromJson(json));
        assertEquals(Map.of(Problem.WEIGHT, 4L, Problem.BIAS, 3L), state.steps());
        assertEquals(List.of(Problem.WEIGHT), state.groups().get(0).params());
        assertEquals(1.0 / 3, state.groups().get(0).initialLr());
        assertEquals(0.95, state.groups().get(1).hyperParameters().get("beta2"));
        assertTrue(json.contains("\"optimizer\" : \"Adam\""), json);
    }

    @Test
    void loadStateRejectsAMismatchNamingIt() {
        Problem problem = Problem.create(DataType.DOUBLE);
        Map<String, Tensor> params = problem.freshParams();
        var adam = new Adam(groups(params), AdamOptions.adam());
        runSteps(problem, params, adam, 0, 2);
        var sgd = new Sgd(groups(params), SgdOptions.of(0.1));
        assertMessage(() -> sgd.loadState(adam.state(), Map.of()), "SGD.loadState: the state was saved by Adam");
        var single = new Adam(params, AdamOptions.adam());
        assertMessage(() -> single.loadState(adam.state(), Map.of()), "the state has 2 param groups but this optimizer has 1");
        String key = Problem.WEIGHT + ".exp_avg";
        Map<String, INDArray> wrongShape = Map.of(key, Nd4j.zeros(DataType.DOUBLE, 2, 2));
        assertMessage(() -> adam.loadState(adam.state(), wrongShape),
            "tensor '" + key + "' is DOUBLE [2, 2] but its parameter is DOUBLE [4, 4]");
        Map<String, INDArray> stranger = Map.of("model.norm.weight.exp_avg", Nd4j.zeros(DataType.DOUBLE, 4));
        assertMessage(() -> adam.loadState(adam.state(), stranger), "tensor 'model.norm.weight.exp_avg' is not");
    }

    @Test
    void theDecayModeNamesTheOptimizerSoAdamAndAdamWStatesDoNotMix() {
        Problem problem = Problem.create(DataType.DOUBLE);
        Map<String, Tensor> params = problem.freshParams();
        var adamW = new Adam(groups(params), AdamOptions.adamW());
        runSteps(problem, params, adamW, 0, 2);
        assertEquals("AdamW", adamW.state().optimizer());
        var adam = new Adam(groups(params), AdamOptions.adam());
        assertMessage(() -> adam.loadState(adamW.state(), Map.of()), "Adam.loadState: the state was saved by AdamW");
        assertEquals(new AdamOptions(1e-3, 0.9, 0.999, 1e-8, 0, AdamOptions.Decay.L2, false), AdamOptions.adam());
        assertEquals(new AdamOptions(1e-3, 0.9, 0.999, 1e-8, 1e-2, AdamOptions.Decay.DECOUPLED, false),
            AdamOptions.adamW());
    }

    @Test
    void loadStateRejectsAMissingOrAnExtraBufferNamingIt() {
        Problem problem = Problem.create(DataType.DOUBLE);
        Map<String, Tensor> params = problem.freshParams();
        var adam = new Adam(groups(params), AdamOptions.adam());
        runSteps(problem, params, adam, 0, 2);
        Map<String, INDArray> missing = new LinkedHashMap<>(adam.stateTensors());
        missing.remove(Problem.WEIGHT + ".exp_avg_sq");
        assertMessage(() -> adam.loadState(adam.state(), missing),
            "Adam.loadState: tensor '" + Problem.WEIGHT + ".exp_avg_sq' is missing");
        Map<String, INDArray> extra = new LinkedHashMap<>(adam.stateTensors());
        extra.put(Problem.WEIGHT + ".momentum_buffer", adam.stateTensors().get(Problem.WEIGHT + ".exp_avg"));
        assertMessage(() -> adam.loadState(adam.state(), extra),
            "tensor '" + Problem.WEIGHT + ".momentum_buffer' is not a state Adam keeps");
        var sgd = new Sgd(groups(params), SgdOptions.of(0.1).withMomentum(0.9));
        runSteps(problem, params, sgd, 0, 1);
        assertMessage(() -> sgd.loadState(sgd.state(), Map.of()), "tensor '" + Problem.WEIGHT + ".momentum_buffer' is missing");
    }

    @Test
    void loadStateKeepingOptionsKeepsTheNewLrAndLoadsTheMoments() {
        Problem problem = Problem.create(DataType.DOUBLE);
        Map<String, Tensor> params = problem.freshParams();
        var saved = new Adam(groups(params), AdamOptions.adam().withLr(0.02));
        runSteps(problem, params, saved, 0, 3);
        var plain = new Adam(groups(params), AdamOptions.adam().withLr(0.005));
        plain.loadState(saved.state(), saved.stateTensors());
        assertEquals(0.02, plain.initialLr(0), "PyTorch's rule: the saved hyper-parameters win");
        var keeping = new Adam(groups(params), AdamOptions.adam().withLr(0.005));
        keeping.loadStateKeepingOptions(saved.state(), saved.stateTensors());
        assertEquals(0.005, keeping.initialLr(0));
        assertEquals(0.005, keeping.lr(0));
        assertEquals(0.01, keeping.initialLr(1), "a group's own override stays");
        assertEquals(saved.state().steps(), keeping.state().steps());
        assertEquals(saved.stateTensors(), keeping.stateTensors());
    }

    static void assertMessage(org.junit.jupiter.api.function.Executable call, String part) {
        var e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }
}
