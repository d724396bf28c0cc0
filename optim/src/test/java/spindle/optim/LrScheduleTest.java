// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static spindle.optim.Grads.param;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/** Each schedule's factor at a few steps against its closed form; step 0 is the first optimizer step. */
class LrScheduleTest {
    static final double TOL = 1e-15;

    static void assertFactors(LrSchedule s, long[] steps, double[] expected) {
        for (int i = 0; i < steps.length; i++) {
            assertEquals(expected[i], s.factor(steps[i]), TOL, "factor at step " + steps[i]);
        }
    }

    @Test
    void constantIsOne() {
        assertFactors(LrSchedule.constant(), new long[] {0, 7, 1_000_000}, new double[] {1, 1, 1});
    }

    @Test
    void linearWarmupStartsAtZeroAndReachesOneAtTheWarmupStep() {
        assertFactors(LrSchedule.linearWarmup(4), new long[] {0, 1, 3, 4, 100}, new double[] {0, 0.25, 0.75, 1, 1});
    }

    @Test
    void warmupCosineMatchesTorchtune() {
        // warmup 10, total 110: progress p = (s - 10) / 100, factor = 0.5 (1 + cos(pi p)).
        assertFactors(LrSchedule.warmupCosine(10, 110, 0), new long[] {0, 5, 10, 35, 60, 110},
            new double[] {0, 0.5, 1, 0.5 + Math.sqrt(2) / 4, 0.5, 0});
    }

    @Test
    void warmupCosineDecaysToTheFloor() {
        assertFactors(LrSchedule.warmupCosine(10, 110, 0.1), new long[] {5, 10, 60, 110},
            new double[] {0.5, 1, 0.55, 0.1});
    }

    @Test
    void linearDecayMatchesLinearLr() {
        assertFactors(LrSchedule.linearDecay(10, 0.1), new long[] {0, 5, 10, 20}, new double[] {1, 0.55, 0.1, 0.1});
    }

    @Test
    void stepDecayMultipliesByGammaEveryStepSize() {
        assertFactors(LrSchedule.stepDecay(30, 0.1), new long[] {0, 29, 30, 65}, new double[] {1, 1, 0.1, 0.1 * 0.1});
    }

    @Test
    void thenHandsOverWithTheSecondScheduleCountingFromZero() {
        LrSchedule s = LrSchedule.linearWarmup(10).then(10, LrSchedule.warmupCosine(0, 100, 0));
        assertFactors(s, new long[] {0, 5, 10, 60, 110}, new double[] {0, 0.5, 1, 0.5, 0});
    }

    @Test
    void applyToScalesEveryGroupsInitialLr() {
        var opt = new Sgd(List.of(ParamGroup.of(Map.of("w", param(DataType.FLOAT, new long[] {1}, 1))),
            ParamGroup.of(Map.of("b", param(DataType.FLOAT, new long[] {1}, 1))).withLr(0.01)), SgdOptions.of(0.1));
        LrSchedule warmup = LrSchedule.linearWarmup(4);
        warmup.applyTo(opt, 1);
        assertEquals(0.025, opt.lr(0), TOL);
        assertEquals(0.0025, opt.lr(1), TOL);
        warmup.applyTo(opt, 9);
        assertEquals(0.1, opt.lr(0), TOL);
        assertEquals(0.01, opt.lr(1), TOL);
    }
}
