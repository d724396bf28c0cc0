// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Named.named;
import static spindle.autograd.GradCase.shape;
import static spindle.autograd.ops.Losses.crossEntropy;
import static spindle.autograd.ops.Losses.mse;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradCase;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Losses.Reduction;

/** Cross-entropy (fused, with ignored targets) and MSE: gradients, closed-form values, composite, errors. */
class LossesGradTest {
    private static final Tensor TARGETS_4 = targets(0, 4, 2, 1);
    private static final Tensor TARGETS_2X3 = Tensor.of(Nd4j.createFromArray(new long[][] {{0, 1, 2}, {4, 3, 0}}));
    private static final Tensor SOME_IGNORED = targets(0, -100, 2, -100);

    static Stream<Named<GradCase>> cases() {
        return Stream.of(
            named("crossEntropy [4,5], mean", GradCase.of(in -> crossEntropy(in[0], TARGETS_4), shape(4, 5))),
            named("crossEntropy [2,3,5], mean", GradCase.of(in -> crossEntropy(in[0], TARGETS_2X3), shape(2, 3, 5))),
            named("crossEntropy [4,5], sum", ce(TARGETS_4, -100, Reduction.SUM)),
            named("crossEntropy [4,5], none", ce(TARGETS_4, -100, Reduction.NONE)),
            named("crossEntropy [4,5], mean, two targets ignored", ce(SOME_IGNORED, -100, Reduction.MEAN)),
            named("crossEntropy [4,5], none, two targets ignored", ce(SOME_IGNORED, -100, Reduction.NONE)),
            named("crossEntropy [4,5], INT32 targets, ignoreIndex 2",
                ce(Tensor.of(Nd4j.createFromArray(0, 4, 2, 1)), 2, Reduction.MEAN)),
            named("crossEntropy [4,5], logits in [-20, 20]", ce(TARGETS_4, -100, Reduction.MEAN).withRange(0, -20, 20)),
            named("mse [3,4], mean, both inputs", GradCase.of(in -> mse(in[0], in[1]), shape(3, 4), shape(3, 4))),
            named("mse [5], sum", GradCase.of(in -> mse(in[0], in[1], Reduction.SUM), shape(5), shape(5))),
            named("mse [2,3], none", GradCase.of(in -> mse(in[0], in[1], Reduction.NONE), shape(2, 3), shape(2, 3))));
    }

    private static GradCase ce(Tensor targets, long ignore, Reduction r) {
        return GradCase.of(in -> crossEntropy(in[0], targets, ignore, r), shape(4, 5));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientMatchesCentralDifferences(GradCase c) {
        c.assertMatches(new SplittableRandom(43));
    }

    private static Tensor targets(long... t) {
        return Tensor.of(Nd4j.createFromArray(t));
    }

    private static Tensor logits(double[][] v) {
        return Tensor.of(Nd4j.createFromArray(v)).requiresGrad(true);
    }

    @Test
    void uniformLogitsOverCClassesCostLnC() {
        assertEquals(Math.log(7), crossEntropy(Tensor.of(Nd4j.zeros(DataType.DOUBLE, 4, 7)), targets(0, 6, 3, 3)).item(), 1e-15);
        Tensor t = Tensor.of(Nd4j.createFromArray(new long[][] {{1, 9, 0}, {2, 2, 5}}));
        assertEquals(Math.log(10), crossEntropy(Tensor.of(Nd4j.zeros(DataType.DOUBLE, 2, 3, 10)), t).item(), 1e-15);
    }

    @Test
    void logitsZeroAndLnTwoCostLnOneAndAHalfForClassOne() {
        Tensor x = Tensor.of(Nd4j.createFromArray(new double[][] {{0, Math.log(2)}, {0, Math.log(2)}}));
        assertEquals((Math.log(1.5) + Math.log(3)) / 2, crossEntropy(x, targets(1, 0)).item(), 1e-15);
        Tensor unbatched = Tensor.of(Nd4j.createFromArray(0.0, Math.log(2)));   // logits [C], target rank 0
        Tensor one = Tensor.of(Nd4j.scalar(DataType.LONG, 1L));
        assertEquals(Math.log(1.5), crossEntropy(unbatched, one).item(), 1e-15);
        assertEquals(Math.log(1.5), crossEntropy(unbatched, one, -100, Reduction.NONE).item(), 1e-15);
    }

    @Test
    void ignoredTargetsAddNoLossAndGetZeroGradientRows() {
        Tensor x = logits(new double[][] {{0, Math.log(2)}, {5, 0}, {0, 0}});
        Tensor loss = crossEntropy(x, targets(1, -100, 0));   // rows 0 and 2 count: (ln 1.5 + ln 2) / 2
        assertEquals((Math.log(1.5) + Math.log(2)) / 2, loss.item(), 1e-15);
        loss.backward();
        // (softmax - onehot) / 2 per counted row, zeros for the ignored one
        assertArrayEquals(new double[] {1.0 / 6, -1.0 / 6, 0, 0, -0.25, 0.25}, x.grad().reshape(6).toDoubleVector(), 1e-15);
        Tensor perRow = crossEntropy(x, targets(1, -100, 0), -100, Reduction.NONE);
        assertArrayEquals(new long[] {3}, perRow.shape());
        assertArrayEquals(new double[] {Math.log(1.5), 0, Math.log(2)}, perRow.value().toDoubleVector(), 1e-15);
        assertEquals(Math.log(1.5) + Math.log(2), crossEntropy(x, targets(1, -100, 0), -100, Reduction.SUM).item(), 1e-15);
    }

    @Test
    void everyTargetIgnoredGivesNaNMeanAsPyTorchAndAZeroGradient() {
        Tensor x = logits(new double[][] {{1, 2}, {3, 4}});
        Tensor loss = crossEntropy(x, targets(-100, -100));
        assertTrue(Double.isNaN(loss.item()));
        loss.backward();
        assertArrayEquals(new double[] {0, 0, 0, 0}, x.grad().reshape(4).toDoubleVector(), 0);
        assertEquals(0, crossEntropy(x, targets(-100, -100), -100, Reduction.SUM).item(), 0);
    }

    @Test
    void fusedCrossEntropyEqualsMinusMeanOfPickedLogSoftmax() {
        long[] t = {3, 0, -100, 4, 1, -100};
        Tensor x = SoftmaxGradTest.randomInput(47, 2, 3, 5);
        Tensor tt = Tensor.of(Nd4j.createFromArray(t).reshape(2, 3));
        for (Reduction r : Reduction.values()) {
            SoftmaxGradTest.assertSameValueAndGradients(in -> crossEntropy(in[0], tt, -100, r),
                in -> compositeCrossEntropy(in[0], t, 5, r), 1e-12, x);
        }
    }

    /** -log_softmax(x) picked at the targets by a one-hot product, built from primitive ops only. */
    private static Tensor compositeCrossEntropy(Tensor x, long[] t, int c, Reduction r) {
        INDArray hot = Nd4j.zeros(DataType.DOUBLE, t.length, c);
        int counted = 0;
        for (int i = 0; i < t.length; i++) {
            if (t[i] != -100) {
                hot.putScalar(i, t[i], 1.0);
                counted++;
            }
        }
        Tensor logp = Elementwise.sub(x, Reductions.logsumexp(x, true, -1));
        Tensor picked = Reductions.sum(Elementwise.mul(logp, Tensor.of(hot.reshape(x.shape()))), false, -1);
        return switch (r) {
            case NONE -> Elementwise.mul(picked, Tensor.scalar(-1));
            case SUM -> Elementwise.mul(Reductions.sum(picked), Tensor.scalar(-1));
            case MEAN -> Elementwise.mul(Reductions.sum(picked), Tensor.scalar(-1.0 / counted));
        };
    }

    @Test
    void badTargetsAreReportedWithTheValueAndC() {
        Tensor x = logits(new double[][] {{1, 2, 3, 4, 5}, {1, 2, 3, 4, 5}});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> crossEntropy(x, targets(1, 5)));
        assertTrue(e.getMessage().contains("target value 5 at index [1]") && e.getMessage().contains("C = 5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> crossEntropy(x, targets(-1, 0)));
        assertTrue(e.getMessage().contains("target value -1 at index [0]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> crossEntropy(x, Tensor.of(Nd4j.createFromArray(1.0, 2.0))));
        assertTrue(e.getMessage().contains("integer") && e.getMessage().contains("DOUBLE"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> crossEntropy(x, targets(1, 2, 3)));
        assertTrue(e.getMessage().contains("[2, 5]") && e.getMessage().contains("[3]"), e.getMessage());
    }

    @Test
    void float32LogitsGiveAFloat32Loss() {
        Tensor x = Tensor.of(Nd4j.zeros(DataType.FLOAT, 2, 4)).requiresGrad(true);
        Tensor loss = crossEntropy(x, targets(1, 3));
        assertEquals(DataType.FLOAT, loss.dtype());
        assertEquals(Math.log(4), loss.item(), 1e-6);
        loss.backward();
        assertEquals(DataType.FLOAT, x.grad().dataType());
    }

    @Test
    void mseHasTheHandComputedValues() {
        Tensor p = Tensor.of(Nd4j.createFromArray(1.0, 2.0));
        Tensor t = Tensor.of(Nd4j.createFromArray(0.0, 0.0));
        assertEquals(2.5, mse(p, t).item(), 0);
        assertEquals(5, mse(p, t, Reduction.SUM).item(), 0);
        assertArrayEquals(new double[] {1, 4}, mse(p, t, Reduction.NONE).value().toDoubleVector(), 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> mse(p, Tensor.of(Nd4j.zeros(DataType.DOUBLE, 3))));
        assertTrue(e.getMessage().contains("pred has shape [2]") && e.getMessage().contains("target has shape [3]"),
            e.getMessage());
    }
}
