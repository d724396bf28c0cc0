// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static spindle.optim.Grads.grad;
import static spindle.optim.Grads.param;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.autograd.Tensor;

/** Gradients [3, 4] and [12] have joint norm 13; clip_grad_norm_ scales by maxNorm / (13 + 1e-6) when that is < 1. */
class GradClipTest {
    Tensor a;
    Tensor b;
    Tensor none;

    void setUp(DataType dtype) {
        a = param(dtype, new long[] {2}, 1, 1);
        b = param(dtype, new long[] {1}, 1);
        none = param(dtype, new long[] {2}, 1, 1);
        Grads.set(a, 3, 4);
        Grads.set(b, 12);
    }

    @ParameterizedTest
    @EnumSource(names = {"FLOAT", "DOUBLE"})
    void returnsPreClipNormAndScalesEveryGradient(DataType dtype) {
        setUp(dtype);
        double norm = GradClip.clipGlobalNorm(List.of(a, b, none), 6.5);
        assertEquals(13.0, norm, 1e-6);
        double c = 6.5 / (13 + 1e-6);
        double tol = dtype == DataType.FLOAT ? 1e-6 : 1e-15;
        assertArrayEquals(new double[] {3 * c, 4 * c}, grad(a), tol);
        assertArrayEquals(new double[] {12 * c}, grad(b), tol);
        assertNull(none.grad(), "a parameter without gradient is skipped");
    }

    @ParameterizedTest
    @EnumSource(names = {"FLOAT", "DOUBLE"})
    void leavesGradientsBelowTheLimitUnchanged(DataType dtype) {
        setUp(dtype);
        assertEquals(13.0, GradClip.clipGlobalNorm(List.of(a, b), 13.5), 1e-6);
        assertArrayEquals(new double[] {3, 4}, grad(a));
        assertArrayEquals(new double[] {12}, grad(b));
    }

    @ParameterizedTest
    @EnumSource(names = {"FLOAT", "DOUBLE"})
    void normEqualToTheLimitIsStillScaledByTheEpsilonFactor(DataType dtype) {
        setUp(dtype);
        GradClip.clipGlobalNorm(List.of(a, b), 13);
        assertEquals(12 * 13 / (13 + 1e-6), grad(b)[0], dtype == DataType.FLOAT ? 1e-6 : 1e-15);
    }

    @ParameterizedTest
    @EnumSource(names = {"FLOAT", "DOUBLE"})
    void withoutGradientsTheNormIsZero(DataType dtype) {
        setUp(dtype);
        assertEquals(0.0, GradClip.clipGlobalNorm(List.of(none), 1.0));
    }
}
