// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.NativeKernels;
import spindle.autograd.kernels.NativeOptim;
import spindle.autograd.kernels.SmallKernels;
import spindle.testing.PyTorch;

/**
 * 100 steps of each optimizer on {@link Problem} equal PyTorch's trajectory, which optimizer_ref.py
 * computes in the same run from the inputs written here (within 1e-6 in float32, 1e-12 in float64).
 * Without PyTorch the test skips, naming why, unless SPINDLE_REQUIRE_TORCH=1 (set by CI) makes it fail.
 */
class TorchParityTest {
    static final int STEPS = 100;
    static final Path DIR = Path.of("target", "optim-parity");
    static final ObjectMapper JSON = new ObjectMapper();
    static Map<String, Map<String, List<List<Double>>>> reference;

    /** One optimizer configuration; one override map per group (one group: weight and bias together). */
    record Case(String label, String optimizer, OptimizerOptions defaults, List<Map<String, Double>> groups) {
        String name(DataType dtype) {
            return label + "/" + dtype.name().toLowerCase();
        }

        List<ParamGroup> paramGroups(Map<String, Tensor> p) {
            if (groups.size() == 1) {
                return List.of(new ParamGroup(p, groups.get(0)));
            }
            return List.of(new ParamGroup(Map.of(Problem.WEIGHT, p.get(Problem.WEIGHT)), groups.get(0)),
                new ParamGroup(Map.of(Problem.BIAS, p.get(Problem.BIAS)), groups.get(1)));
        }

        Optimizer build(Map<String, Tensor> p) {
            return switch (optimizer) {
                case "SGD" -> new Sgd(paramGroups(p), (SgdOptions) defaults);
                default -> new Adam(paramGroups(p), (AdamOptions) defaults);
            };
        }
    }

    static final Map<String, Double> NONE = Map.of();

    static List<Case> configs() {
        return List.of(
            new Case("sgd plain", "SGD", SgdOptions.of(0.05), List.of(NONE)),
            new Case("sgd momentum+nesterov+wd", "SGD",
                SgdOptions.of(0.02).withMomentum(0.9).withNesterov(true).withWeightDecay(0.01),
                List.of(NONE, Map.of("lr", 0.01))),
            new Case("sgd momentum+dampening", "SGD", SgdOptions.of(0.03).withMomentum(0.8).withDampening(0.3),
                List.of(NONE, Map.of("lr", 0.05, "momentum", 0.5))),
            new Case("adam", "Adam", AdamOptions.adam().withLr(0.02), List.of(NONE, Map.of("lr", 0.05))),
            new Case("adam amsgrad+wd", "Adam",
                AdamOptions.adam().withLr(0.02).withAmsgrad(true).withWeightDecay(0.05).withBetas(0.8, 0.99),
                List.of(NONE, Map.of("weight_decay", 0.0, "beta2", 0.95))),
            new Case("adamw", "AdamW", AdamOptions.adamW().withLr(0.02).withWeightDecay(0.1),
                List.of(NONE, Map.of("lr", 0.01, "weight_decay", 0.0))));
    }

    static Stream<Named<Object[]>> cases() {
        return Stream.of(DataType.FLOAT, DataType.DOUBLE).flatMap(dt -> configs().stream()
            .map(c -> Named.of(c.name(dt), new Object[] {c, dt})));
    }

    @BeforeAll
    static void runPyTorch() throws IOException {
        Files.createDirectories(DIR);
        Path in = DIR.resolve("input.json");
        Path out = DIR.resolve("torch.json");
        Files.deleteIfExists(out);
        JSON.writerWithDefaultPrettyPrinter().writeValue(in.toFile(), input());
        Optional<String> why = PyTorch.unavailable(null);
        assumeTrue(why.isEmpty(), () -> "PyTorch reference skipped: " + why.orElseThrow());
        PyTorch.run(Path.of("src/test/python/optimizer_ref.py"), 300, in.toString(), out.toString());
        reference = JSON.readValue(out.toFile(), new TypeReference<>() {});
    }

    private static Map<String, Object> input() {
        Map<String, Object> problems = new LinkedHashMap<>();
        problems.put("float32", Problem.create(DataType.FLOAT).toJson());
        problems.put("float64", Problem.create(DataType.DOUBLE).toJson());
        List<Map<String, Object>> cases = new ArrayList<>();
        cases().forEach(n -> {
            Case c = (Case) n.getPayload()[0];
            DataType dt = (DataType) n.getPayload()[1];
            List<Map<String, Object>> groups = new ArrayList<>();
            for (int g = 0; g < c.groups().size(); g++) {
                groups.add(Map.of("params", c.groups().size() == 1 ? List.of(Problem.WEIGHT, Problem.BIAS)
                    : List.of(g == 0 ? Problem.WEIGHT : Problem.BIAS), "overrides", c.groups().get(g)));
            }
            cases.add(Map.of("name", c.name(dt), "dtype", dt == DataType.FLOAT ? "float32" : "float64",
                "optimizer", c.optimizer(), "defaults", c.defaults().hyperParameters(), "groups", groups));
        });
        return Map.of("names", Map.of("weight", Problem.WEIGHT, "bias", Problem.BIAS), "steps", STEPS,
            "problems", problems, "cases", cases);
    }

    /**
     * The default paths: float32 through the native kernels when they are in use ({@link NativeOptim}), float64 (and
     * float32 without them) through the Java loops ({@link SmallUpdates}), as this problem's parameters are small.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void trajectoryMatchesPyTorch(Object[] payload) {
        assertEquals(SmallArrays.DEFAULT_MAX_ELEMENTS, SmallArrays.maxElements());
        check(payload);
    }

    /** The same trajectories through the Java loops, with the native kernels off. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void trajectoryMatchesPyTorchOnTheJavaLoops(Object[] payload) {
        try (SmallKernels.Scope off = NativeKernels.off()) {
            check(payload);
        }
    }

    /** The same trajectories through the ND4J ops that parameters take when neither kernel takes them. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void trajectoryMatchesPyTorchOnTheNd4jPath(Object[] payload) {
        SmallArrays.setMaxElements(0);
        try (SmallKernels.Scope off = NativeKernels.off()) {
            check(payload);
        } finally {
            SmallArrays.setMaxElements(SmallArrays.DEFAULT_MAX_ELEMENTS);
        }
    }

    private void check(Object[] payload) {
        Case c = (Case) payload[0];
        DataType dtype = (DataType) payload[1];
        Problem problem = Problem.create(dtype);
        Map<String, Tensor> params = problem.freshParams();
        Optimizer opt = c.build(params);
        Map<String, List<List<Double>>> expected = reference.get(c.name(dtype));
        double worst = 0;
        String where = "";
        for (int step = 0; step < STEPS; step++) {
            problem.backward(params);
            opt.step();
            for (var e : params.entrySet()) {
                double[] got = e.getValue().value().dup().reshape(-1).toDoubleVector();
                List<Double> want = expected.get(e.getKey()).get(step);
                assertEquals(want.size(), got.length, e.getKey());
                for (int i = 0; i < got.length; i++) {
                    double d = Math.abs(got[i] - want.get(i));
                    if (!(d <= worst)) {
                        worst = d;
                        where = e.getKey() + "[" + i + "] after step " + (step + 1);
                    }
                }
            }
        }
        double tol = dtype == DataType.FLOAT ? 1e-6 : 1e-12;
        System.out.printf("parity %-40s max |spindle - torch| = %.3g (%s)%n", c.name(dtype), worst, where);
        assertTrue(worst <= tol, c.name(dtype) + ": max |spindle - torch| = " + worst + " at " + where
            + " exceeds " + tol);
    }
}
