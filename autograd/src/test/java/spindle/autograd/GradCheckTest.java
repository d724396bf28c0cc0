// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static spindle.autograd.GradCase.shape;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** GradCheck accepts right backwards, catches wrong ones with a useful report, and refuses float32. */
class GradCheckTest {
    /** A user-defined op written the way the library's are: forward, then its backward right under it. */
    static Tensor cube(Tensor x) {
        INDArray y = x.value().mul(x.value()).muli(x.value());
        return Tape.record("cube", y, g -> g.add(0, g.out().mul(x.value()).muli(x.value()).muli(3)), x);
    }

    /** The same op with a deliberately wrong derivative at one element (index 2): 3x^2 + 0.01 there. */
    static Tensor cubeWithWrongBackward(Tensor x) {
        INDArray y = x.value().mul(x.value()).muli(x.value());
        return Tape.record("badCube", y, g -> {
            INDArray d = x.value().mul(x.value()).muli(3);
            d.putScalar(2, d.getDouble(2) + 0.01);
            g.add(0, g.out().mul(d));
        }, x);
    }

    @Test
    void userDefinedOpPassesWithTorchDefaults() {
        GradCase.of(in -> cube(in[0]), shape(2, 3)).assertMatches(new SplittableRandom(3));
    }

    @Test
    void wrongBackwardIsCaughtAndTheReportNamesTheElement() {
        GradCheckResult r = GradCase.of(in -> cubeWithWrongBackward(in[0]), shape(5)).check(new SplittableRandom(4));
        assertFalse(r.passed());
        assertEquals(1, r.failed());
        assertEquals(0, r.worstInput());
        assertEquals(2, r.worstIndex()[0]);
        String m = r.message();
        assertTrue(m.contains("d out / d in[0] (shape [5]) at [2]"), m);
        assertTrue(m.contains("analytic") && m.contains("numeric") && m.contains("atol 1.00e-05"), m);
        AssertionError e = assertThrows(AssertionError.class,
            () -> GradCase.of(in -> cubeWithWrongBackward(in[0]), shape(5)).assertMatches(new SplittableRandom(4)));
        assertEquals(m, e.getMessage());
    }

    @Test
    void float32InputsAreRefusedWithTheReason() {
        Tensor x = Tensor.of(Nd4j.rand(DataType.FLOAT, 3)).requiresGrad(true);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GradCheck.assertMatches(in -> cube(in[0]), x));
        assertTrue(e.getMessage().contains("float64") && e.getMessage().contains("input 0 is FLOAT"), e.getMessage());
    }

    @Test
    void largeInputsAreCheckedAtASeededSubset() {
        GradCheckOptions few = GradCheckOptions.defaults().withMaxElementsPerInput(40);
        GradCheckResult r = GradCase.of(in -> cube(in[0]), shape(30, 30)).withOptions(few).check(new SplittableRandom(5));
        assertTrue(r.passed(), r.message());
        assertEquals(40, r.checked());
    }

    @Test
    void awayFromKeepsInputsOffTheKink() {
        Tensor[] in = GradCase.of(x -> x[0], shape(1000)).awayFrom(0, 0.0, 0.1).inputs(new SplittableRandom(6));
        double min = Double.MAX_VALUE;
        for (double v : in[0].value().toDoubleVector()) {
            min = Math.min(min, Math.abs(v));
        }
        assertTrue(min >= 0.1, "closest value to the kink: " + min);
    }

    @Test
    void withoutTiesGivesDistinctValues() {
        Tensor[] in = GradCase.of(x -> x[0], shape(50)).withoutTies(0).inputs(new SplittableRandom(7));
        assertEquals(50, java.util.Arrays.stream(in[0].value().toDoubleVector()).distinct().count());
    }
}
