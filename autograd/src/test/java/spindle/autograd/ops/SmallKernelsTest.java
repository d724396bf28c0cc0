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
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;
import spindle.autograd.TensorFunction;
import spindle.autograd.ops.Losses.Reduction;
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
            named("rmsNorm [128,64]", new OpCase(in -> Norms.rmsNorm(in[0], in[1], 1e-5), s(128, 64), s(64))),
            named("rope, rotate half, [2,3,4,6]", new OpCase(in -> rope(in[0], RopeLayout.ROTATE_HALF), s(2, 3, 4, 6))),
            named("rope, interleaved, [4,32,16]", new OpCase(in -> rope(in[0], RopeLayout.INTERLEAVED), s(4, 32, 16))),
            named("swiglu [128,172]", new OpCase(in -> Gating.swiglu(in[0], in[1]), s(128, 172), s(128, 172))),
            named("crossEntropy, mean, [4,8,32]", new OpCase(in -> crossEntropy(in[0], false, Reduction.MEAN), s(4, 8, 32))),
            named("crossEntropy, sum, some ignored", new OpCase(in -> crossEntropy(in[0], true, Reduction.SUM), s(12, 5))),
            named("crossEntropy, none, some ignored", new OpCase(in -> crossEntropy(in[0], true, Reduction.NONE), s(3, 4, 7))),
            named("crossEntropy, mean, some ignored", new OpCase(in -> crossEntropy(in[0], true, Reduction.MEAN), s(9, 6))));
    }

    /** Attention: its products stay ND4J's, the softmax and the step from dP to dS take the Java kernels. */
    static Stream<Named<OpCase>> attentionCases() {
        return Stream.of(
            named("attention, MHA [2,4,16,8]", new OpCase(in -> Attention.causal(in[0], in[1], in[2], 0.35, null),
                s(2, 4, 16, 8), s(2, 4, 16, 8), s(2, 4, 16, 8))),
            named("attention, GQA in 3 query blocks", new OpCase(in -> Attention.causal(in[0], in[1], in[2], 0.5, null, 3),
                s(1, 4, 12, 8), s(1, 2, 12, 8), s(1, 2, 12, 6))),
            named("attention, 3 queries on 7 keys", new OpCase(in -> Attention.causal(in[0], in[1], in[2], 0.5, null),
                s(2, 2, 3, 4), s(2, 1, 7, 4), s(2, 1, 7, 5))));
    }

    /** The same ops on strided views (a transpose), which the Java path reads through their strides. */
    static Stream<Named<OpCase>> stridedCases() {
        return Stream.of(
            named("rmsNorm of a transposed x", new OpCase(
                in -> Norms.rmsNorm(Shapes.transpose(in[0], 0, 1), in[1], 1e-5), s(6, 4), s(6))),
            named("rope of a [B,T,H,D] view as [B,H,T,D]", new OpCase(
                in -> rope(Shapes.transpose(in[0], 1, 2), RopeLayout.ROTATE_HALF), s(2, 4, 3, 6))),
            named("swiglu of transposed gate and up", new OpCase(
                in -> Gating.swiglu(Shapes.transpose(in[0], 0, 1), Shapes.transpose(in[1], 0, 1)), s(5, 7), s(5, 7))),
            named("attention on [B,T,H,D] views", new OpCase(in -> Attention.causal(Shapes.transpose(in[0], 1, 2),
                Shapes.transpose(in[1], 1, 2), Shapes.transpose(in[2], 1, 2), 0.5, null),
                s(2, 6, 2, 4), s(2, 6, 2, 4), s(2, 6, 2, 4))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource({"cases", "stridedCases", "attentionCases"})
    void javaAndNd4jPathsAgreeInFloat64(OpCase c) {
        assertPathsAgree(c.f(), F64, c.inputs(DataType.DOUBLE));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource({"cases", "stridedCases", "attentionCases"})
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
    @MethodSource("attentionCases")
    void attentionsJavaPathRunsFewerNd4jOps(OpCase c) {
        Tensor[] in = c.inputs(DataType.FLOAT);
        long java = run(c.f(), Long.MAX_VALUE, in).forwardOps();
        long nd4j = run(c.f(), 0, in).forwardOps();
        assertTrue(java < nd4j, "ND4J ops in the forward: Java path " + java + ", ND4J path " + nd4j);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource({"cases", "attentionCases"})
    void nanInputGivesNanOnBothPaths(OpCase c) {
        Tensor[] in = c.inputs(DataType.DOUBLE);
        in[0].value().putScalar(in[0].value().length() - 1, Double.NaN);   // the last row: counted by crossEntropy
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

    /** rope with fixed random tables [T, D] of x's dtype (not unit-norm pairs: any table must work). */
    private static Tensor rope(Tensor x, RopeLayout layout) {
        long t = x.size(x.rank() - 2);
        long d = x.size(x.rank() - 1);
        return Rotary.rope(x, input(5, x.dtype(), t, d).value(), input(6, x.dtype(), t, d).value(), layout);
    }

    /** crossEntropy of logits [..., C] against fixed targets; with {@code ignoring}, every third is ignored. */
    private static Tensor crossEntropy(Tensor logits, boolean ignoring, Reduction reduction) {
        long c = logits.size(logits.rank() - 1);
        long[] t = new long[(int) (logits.value().length() / c)];
        for (int r = 0; r < t.length; r++) {
            t[r] = ignoring && r % 3 == 0 ? Losses.IGNORE_INDEX : (r * 7L + 3) % c;
        }
        long[] ts = java.util.Arrays.copyOf(logits.shape(), logits.rank() - 1);
        return Losses.crossEntropy(logits, Tensor.of(Nd4j.createFromArray(t).reshape(ts)), Losses.IGNORE_INDEX,
            reduction);
    }

    private static long[] s(long... shape) {
        return shape;
    }
}
