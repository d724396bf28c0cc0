// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Named.named;
import static spindle.autograd.ops.KernelPaths.assertPathsAgree;
import static spindle.autograd.ops.KernelPaths.input;
import static spindle.autograd.ops.KernelPaths.run;

import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.autograd.Tensor;
import spindle.autograd.TensorFunction;
import spindle.autograd.kernels.SmallKernels;

/**
 * Every op with a Java kernel gives the same values and gradients on its Java path and its ND4J path, in
 * float32 and float64, contiguous or not; the Java path runs no ND4J op in the forward and keeps NaN as NaN.
 */
class SmallKernelsTest {
    private static final double F32 = 2e-5;
    private static final double F64 = 1e-12;

    /** An op and the shapes of its inputs; the inputs are random in [-2, 2). */
    record OpCase(TensorFunction f, long[]... shapes) {
        Tensor[] inputs(DataType dtype) {
            Tensor[] in = new Tensor[shapes.length];
            for (int i = 0; i < in.length; i++) {
                in[i] = input(17 + i, dtype, shapes[i]);
            }
            return in;
        }
    }

    static Stream<Named<OpCase>> cases() {
        return Stream.of(
            named("rmsNorm [2,3,8]", new OpCase(in -> Norms.rmsNorm(in[0], in[1], 1e-5), s(2, 3, 8), s(8))),
            named("rmsNorm [128,64]", new OpCase(in -> Norms.rmsNorm(in[0], in[1], 1e-5), s(128, 64), s(64))));
    }

    /** The same ops on strided views (a transpose), which the Java path reads through their strides. */
    static Stream<Named<OpCase>> stridedCases() {
        return Stream.of(
            named("rmsNorm of a transposed x", new OpCase(
                in -> Norms.rmsNorm(Shapes.transpose(in[0], 0, 1), in[1], 1e-5), s(6, 4), s(6))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource({"cases", "stridedCases"})
    void javaAndNd4jPathsAgreeInFloat64(OpCase c) {
        assertPathsAgree(c.f(), F64, c.inputs(DataType.DOUBLE));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource({"cases", "stridedCases"})
    void javaAndNd4jPathsAgreeInFloat32(OpCase c) {
        assertPathsAgree(c.f(), F32, c.inputs(DataType.FLOAT));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void javaPathRunsNoNd4jOpForward(OpCase c) {
        Tensor[] in = c.inputs(DataType.FLOAT);
        assertEquals(0, run(c.f(), Long.MAX_VALUE, in).forwardOps(), "ND4J ops in the Java path's forward");
        assertTrue(run(c.f(), 0, in).forwardOps() > 0, "the ND4J path ran no ND4J op: the limit was not obeyed");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void nanInputGivesNanOnBothPaths(OpCase c) {
        Tensor[] in = c.inputs(DataType.DOUBLE);
        in[0].value().putScalar(0, Double.NaN);
        for (long limit : new long[] {Long.MAX_VALUE, 0}) {
            KernelPaths.Run r = run(c.f(), limit, in);
            assertTrue(r.value().isNaN().any() || Double.isNaN(r.value().sumNumber().doubleValue()),
                "limit " + limit + ": a NaN input gave no NaN output");
        }
        assertPathsAgree(c.f(), F64, in);
    }

    @Test
    void theLimitSplitsAtTheArraysLength() {
        Tensor x = input(1, DataType.FLOAT, 4, 64);
        Tensor w = input(2, DataType.FLOAT, 64);
        TensorFunction f = in -> Norms.rmsNorm(in[0], in[1], 1e-5);
        assertEquals(0, run(f, 256, x, w).forwardOps(), "256 elements at a limit of 256: Java path");
        assertTrue(run(f, 255, x, w).forwardOps() > 0, "256 elements at a limit of 255: ND4J path");
        try (SmallKernels.Scope s = SmallKernels.limit(255)) {
            assertFalse(SmallKernels.fit(x.value(), w.value()));
        }
        assertTrue(SmallKernels.fit(x.value(), w.value()), "the scope restored the default limit");
    }

    @Test
    void viewsWithAnOffsetAndMixedDtypesTakeTheNd4jPath() {
        Tensor x = input(1, DataType.FLOAT, 4, 8);
        assertFalse(SmallKernels.fit(x.value().get(org.nd4j.linalg.indexing.NDArrayIndex.interval(1, 3),
            org.nd4j.linalg.indexing.NDArrayIndex.all())), "a row window starts at an offset");
        assertFalse(SmallKernels.fit(x.value(), input(2, DataType.DOUBLE, 8).value()), "float32 with float64");
        assertFalse(SmallKernels.fit(input(3, DataType.HALF, 8).value()), "float16");
    }

    private static long[] s(long... shape) {
        return shape;
    }
}
