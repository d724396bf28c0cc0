// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Named.named;
import static spindle.autograd.ops.Elementwise.mul;
import static spindle.optim.Grads.param;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.autograd.Tensor;

/** Bad hyper-parameters and bad parameter lists fail at once, with a message naming the option. */
class OptionErrorsTest {

    record Bad(Executable call, String message) {}

    static Named<Bad> bad(String name, Executable call, String message) {
        return named(name, new Bad(call, message));
    }

    static Tensor p() {
        return param(DataType.DOUBLE, new long[] {2}, 1, 2);
    }

    static Stream<Named<Bad>> cases() {
        Tensor shared = p();
        return Stream.of(
            bad("negative SGD lr", () -> SgdOptions.of(-0.1), "SGD: lr must be >= 0 but is -0.1"),
            bad("negative momentum", () -> SgdOptions.of(0.1).withMomentum(-0.9), "SGD: momentum must be >= 0"),
            bad("nesterov without momentum", () -> SgdOptions.of(0.1).withNesterov(true), "nesterov needs momentum > 0"),
            bad("nesterov with dampening", () -> SgdOptions.of(0.1).withMomentum(0.9).withDampening(0.1).withNesterov(true),
                "dampening 0"),
            bad("negative Adam lr", () -> AdamOptions.adam().withLr(-1e-3), "Adam: lr must be >= 0 but is -0.001"),
            bad("beta1 = 1", () -> AdamOptions.adam().withBetas(1.0, 0.999), "Adam: beta1 must be in [0, 1) but is 1.0"),
            bad("negative beta2", () -> AdamOptions.adamW().withBetas(0.9, -0.1), "AdamW: beta2 must be in [0, 1)"),
            bad("NaN beta2", () -> AdamOptions.adam().withBetas(0.9, Double.NaN), "beta2 must be in [0, 1) but is NaN"),
            bad("negative eps", () -> AdamOptions.adam().withEps(-1e-8), "Adam: eps must be >= 0"),
            bad("negative AdamW weight decay", () -> AdamOptions.adamW().withWeightDecay(-0.01),
                "AdamW: weight_decay must be >= 0"),
            bad("unknown group option", () -> new Adam(List.of(ParamGroup.of(Map.of("w", p())).withOption("beta3", 0.9)),
                AdamOptions.adam()), "param group 0: Adam: unknown option 'beta3'; known options are [lr, beta1"),
            bad("bad group value", () -> new Adam(List.of(ParamGroup.of(Map.of("w", p())),
                ParamGroup.of(Map.of("b", p())).withLr(-2)), AdamOptions.adam()), "param group 1: Adam: lr must be >= 0"),
            bad("flag not 0 or 1", () -> AdamOptions.adam().with("amsgrad", 0.5), "amsgrad is a flag and must be 0 or 1"),
            bad("no parameters", () -> new Sgd(Map.of(), SgdOptions.of(0.1)), "SGD: got no parameters"),
            bad("same tensor twice", () -> new Sgd(List.of(ParamGroup.of(Map.of("a", shared)),
                ParamGroup.of(Map.of("b", shared))), SgdOptions.of(0.1)), "'a' and 'b' are the same tensor"),
            bad("same name twice", () -> new Sgd(List.of(ParamGroup.of(Map.of("a", p())), ParamGroup.of(Map.of("a", p()))),
                SgdOptions.of(0.1)), "parameter name 'a' appears more than once"),
            bad("non-leaf", () -> new Sgd(Map.of("y", mul(shared, shared)), SgdOptions.of(0.1)), "'y' is not a leaf"),
            bad("negative lr from a schedule", () -> new Sgd(Map.of("a", p()), SgdOptions.of(0.1)).setLr(-1),
                "SGD: lr must be >= 0 but is -1.0"),
            bad("negative no-decay weight decay", () -> ParamGroups.decayMatricesOnly(Map.of(), -0.1),
                "weight_decay must be >= 0"),
            bad("clip to zero", () -> GradClip.clipGlobalNorm(List.of(p()), 0), "maxNorm must be > 0 but is 0.0"),
            bad("cosine total before warmup", () -> LrSchedule.warmupCosine(10, 5, 0),
                "totalSteps (5) must be >= warmupSteps (10)"),
            bad("cosine floor above 1", () -> LrSchedule.warmupCosine(0, 5, 1.5), "minLrRatio must be in [0, 1]"),
            bad("step decay every 0 steps", () -> LrSchedule.stepDecay(0, 0.1), "stepSize must be > 0"),
            bad("linear decay to a negative lr", () -> LrSchedule.linearDecay(10, -0.1), "endRatio must be in [0, 1]"),
            bad("negative warmup", () -> LrSchedule.linearWarmup(-1), "warmupSteps must be >= 0"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void rejectsWithMessageNamingTheOption(Bad c) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, c.call());
        assertTrue(e.getMessage().contains(c.message()), () -> "message was: " + e.getMessage());
    }

    @ParameterizedTest(name = "group index {0}")
    @MethodSource("badGroups")
    void rejectsMissingGroupIndex(int g) {
        var opt = new Sgd(Map.of("a", p()), SgdOptions.of(0.1));
        var e = assertThrows(IndexOutOfBoundsException.class, () -> opt.lr(g));
        assertTrue(e.getMessage().contains("SGD has 1 param groups; there is no group " + g), e.getMessage());
    }

    static Stream<Integer> badGroups() {
        return Stream.of(-1, 1, 5);
    }
}
