// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static spindle.autograd.ops.Elementwise.add;
import static spindle.autograd.ops.Elementwise.mul;
import static spindle.autograd.ops.Reductions.sum;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;
import spindle.testing.PyTorch;

/**
 * Output, balance loss, routed counts and gradients (of sum(y * dy) + loss, for x and every parameter) equal
 * those of moe_ref.py, which runs torch_ref.py's MoE formulas (and the DeepSeek-V3 options) in the same run,
 * to 1e-12 in float64. Without PyTorch the test skips, naming why, unless SPINDLE_REQUIRE_TORCH=1 (CI).
 */
class MoeTorchParityTest {
    static final Path DIR = Path.of("target", "moe-parity");
    static final ObjectMapper JSON = new ObjectMapper();
    static final long B = 2;
    static final long T = 5;
    static final int HIDDEN = 6;
    static Map<String, Map<String, Object>> reference;

    /** A layer configuration; bias values (or null) preset the loss-free bias; training picks the mode. */
    record Case(String name, MoeConfig config, double[] bias, boolean training) {
        MixtureOfExperts build() {
            MixtureOfExperts moe = MoeFixtures.layer(config, name.hashCode());
            if (bias != null) {
                moe.gate().bias().assign(Nd4j.createFromArray(bias));
            }
            if (!training) {
                moe.eval();
            }
            return moe;
        }

        Tensor x() {
            return MoeFixtures.randn(name.hashCode() + 1, B, T, HIDDEN);
        }

        Tensor dy() {
            return MoeFixtures.randn(name.hashCode() + 2, B, T, HIDDEN);
        }
    }

    static List<Case> configs() {
        MoeConfig base = MoeFixtures.config(HIDDEN, 6, 1, 2, 5);
        BalanceOptions torchRef = MoeFixtures.TORCH_REF;
        return List.of(
            new Case("torch_ref defaults: softmax top-2, normalised, one shared expert", base, null, true),
            new Case("softmax top-1, not normalised, scaling 2.5, no shared expert",
                new MoeConfig(new ExpertDims(HIDDEN, 4, 0, 1, 3),
                    RouterOptions.defaults().withScoring(RouterScore.SOFTMAX, false, 2.5),
                    torchRef.withAuxLoss(0.1, false)),
                null, true),
            new Case("sigmoid top-3, normalised, scaling 2.5, 2 shared experts",
                new MoeConfig(new ExpertDims(HIDDEN, 6, 2, 3, 4), MoeFixtures.sigmoid(true, 2.5),
                    torchRef.withAuxLoss(0.05, false)),
                null, true),
            new Case("sigmoid, 3 groups keep 2 (top-2 group sums)",
                base.withRouting(MoeFixtures.sigmoid(true, 1.5).withGroups(3, 2)), null, true),
            new Case("softmax, 3 groups keep 1 (group max)",
                base.withRouting(RouterOptions.defaults().withGroups(3, 1)), null, true),
            new Case("sequence-wise balance loss and z-loss, sigmoid",
                base.withRouting(MoeFixtures.sigmoid(true, 1.0))
                    .withBalance(torchRef.withAuxLoss(0.3, true).withZLoss(0.02)),
                null, true),
            new Case("capacity factor 0.6 in training drops late tokens",
                base.withBalance(torchRef.withCapacityFactor(0.6)), null, true),
            new Case("capacity factor 0.6 in eval drops nothing",
                base.withBalance(torchRef.withCapacityFactor(0.6)), null, false),
            new Case("loss-free bias shifts the choice, sigmoid, groups",
                base.withRouting(MoeFixtures.sigmoid(true, 2.5).withGroups(2, 1))
                    .withBalance(torchRef.withBiasUpdateSpeed(1e-3)),
                new double[] {0.3, -0.2, 0.1, -0.4, 0.25, -0.05}, true));
    }

    static Stream<Named<Case>> cases() {
        return configs().stream().map(c -> Named.of(c.name(), c));
    }

    @BeforeAll
    static void runReference() throws IOException {
        var why = PyTorch.unavailable(null);
        assumeTrue(why.isEmpty(), () -> "PyTorch reference skipped: " + why.orElseThrow());
        Files.createDirectories(DIR);
        Map<String, Object> in = new LinkedHashMap<>();
        for (Case c : configs()) {
            MixtureOfExperts moe = c.build();
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("config", fields(c.config()));
            entry.put("training", c.training());
            entry.put("x", json(c.x().value()));
            entry.put("dy", json(c.dy().value()));
            Map<String, Object> params = new LinkedHashMap<>();
            moe.namedParameters().forEach((name, p) -> params.put(name, json(p.value())));
            entry.put("params", params);
            if (c.bias() != null) {
                entry.put("bias", json(moe.gate().bias()));
            }
            in.put(c.name(), entry);
        }
        Path input = DIR.resolve("input.json");
        Path output = DIR.resolve("output.json");
        JSON.writeValue(input.toFile(), in);
        PyTorch.run(Path.of("src", "test", "python", "moe_ref.py"), 300, input.toString(), output.toString());
        reference = JSON.readValue(output.toFile(), new TypeReference<>() {});
    }

    /** The config's values by field name in one flat map, as moe_ref.py reads them. */
    static Map<String, Object> fields(MoeConfig c) {
        Map<String, Object> flat = new LinkedHashMap<>();
        for (Object part : List.of(c.dims(), c.routing(), c.balance())) {
            flat.putAll(JSON.convertValue(part, new TypeReference<Map<String, Object>>() {}));
        }
        return flat;
    }

    /** The experts as batched products ({@link ExpertBatch}). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void outputLossCountsAndGradientsMatchPyTorch(Case c) {
        checkWithExpertsBatched(c, true);
    }

    /** The experts one by one, as LoRA or fake-quantised experts run. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void outputLossCountsAndGradientsMatchPyTorchExpertByExpert(Case c) {
        checkWithExpertsBatched(c, false);
    }

    private static void checkWithExpertsBatched(Case c, boolean batched) {
        ExpertBatch.forced = batched;
        try {
            check(c);
        } finally {
            ExpertBatch.forced = null;
        }
    }

    private static void check(Case c) {
        Map<String, Object> ref = reference.get(c.name());
        MixtureOfExperts moe = c.build();
        Tensor x = c.x();
        MoeOutput out = moe.forward(x);
        out.hidden().keep();
        out.balanceLoss().keep();
        add(sum(mul(out.hidden(), c.dy())), out.balanceLoss()).backward();

        assertClose("y", doubles(ref.get("y")), out.hidden().value());
        assertEquals((Double) ref.get("loss"), out.balanceLoss().item(), 1e-12, "balance loss");
        long[] counts = ((List<?>) ref.get("counts")).stream().mapToLong(v -> ((Number) v).longValue()).toArray();
        assertArrayEquals(counts, out.tokensPerExpert(), "tokens per expert");
        @SuppressWarnings("unchecked")
        Map<String, Object> grads = (Map<String, Object>) ref.get("grads");
        assertClose("d/dx", doubles(grads.get("x")), x.grad());
        moe.namedParameters().forEach((name, p) -> assertClose("d/d" + name, doubles(grads.get(name)), p.grad()));
    }

    static void assertClose(String what, double[] expected, INDArray actual) {
        if (actual == null) {
            fail(what + ": no gradient");
        }
        double[] got = actual.reshape(actual.length()).toDoubleVector();
        assertEquals(expected.length, got.length, what + ": length");
        for (int i = 0; i < got.length; i++) {
            if (!(Math.abs(got[i] - expected[i]) <= 1e-12 * Math.max(1, Math.abs(expected[i])))) {   // a NaN fails
                fail(what + " at flat index " + i + ": Spindle " + got[i] + ", PyTorch " + expected[i]);
            }
        }
    }

    static double[] doubles(Object list) {
        return ((List<?>) list).stream().mapToDouble(v -> ((Number) v).doubleValue()).toArray();
    }

    static Map<String, Object> json(INDArray a) {
        return Map.of("shape", a.shape(), "data", a.reshape(a.length()).toDoubleVector());
    }
}
