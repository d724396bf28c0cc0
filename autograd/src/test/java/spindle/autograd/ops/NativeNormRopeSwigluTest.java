// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.junit.jupiter.api.Named.named;
import static spindle.autograd.ops.KernelPaths.run;
import static spindle.autograd.ops.KernelPaths.runNative;
import static spindle.autograd.ops.KernelPaths.assertSameBits;

import java.util.Optional;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.autograd.Tensor;
import spindle.autograd.TensorFunction;
import spindle.autograd.kernels.NativeGating;
import spindle.autograd.kernels.NativeKernels;
import spindle.autograd.kernels.NativeNorm;
import spindle.autograd.kernels.NativeRotary;
import spindle.testing.NativeRequirement;

/**
 * The native RMSNorm, RoPE and SwiGLU against their Java kernels, bit for bit (every NaN counted alike): the value
 * and every input gradient, for arrays below and above the Java kernels' default limit of 32,768 elements (the Java
 * side runs with the limit lifted), with NaN, infinities, zeros of both signs, subnormals, huge values and gates
 * around exp's overflow and underflow among the inputs; RMSNorm's gradient also added into a residual's gradient
 * so far, on rows of a strided view (MLA's c_kv), and its weight's gradient alone; RoPE on a [B, T, H, D]
 * projection viewed as [B, H, T, D], on a slice of channels at an offset, and with tables that start at a later
 * position. The native path runs no ND4J op in the forward.
 */
class NativeNormRopeSwigluTest {
    private static final float[] EDGES = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f,
        Float.MIN_VALUE, -Float.MIN_VALUE, 1e-40f, 1e30f, -1e30f, 1000f, -1000f, 745.5f, -745.5f, 709.9f, -709.9f,
        88.7f, -88.7f, 20f, -20f, 1e-8f, Float.MAX_VALUE, -Float.MAX_VALUE};

    /**
     * An op, the ND4J ops f runs besides it, and its inputs' shapes; the inputs are random in [-2, 2) with the edge
     * values spread over input 0.
     */
    record OpCase(TensorFunction f, int otherOps, long[]... shapes) {
        Tensor[] inputs(long seed) {
            Tensor[] in = new Tensor[shapes.length];
            for (int i = 0; i < in.length; i++) {
                INDArray v = KernelPaths.uniform(new SplittableRandom(seed + i), DataType.FLOAT, shapes[i]);
                if (i == 0) {
                    long step = Math.max(1, v.length() / EDGES.length / 2);
                    for (int e = 0; e < EDGES.length; e++) {
                        v.putScalar(e * step, EDGES[e]);
                    }
                }
                in[i] = Tensor.of(v);
            }
            return in;
        }
    }

    static Stream<Named<OpCase>> cases() {
        TensorFunction rms = in -> Norms.rmsNorm(in[0], in[1], 1e-5);
        TensorFunction half = in -> rope(in[0], RopeLayout.ROTATE_HALF, 0);
        TensorFunction swiglu = in -> Gating.swiglu(in[0], in[1]);
        return Stream.of(
            named("rmsNorm [2,3,8]", new OpCase(rms, 0, s(2, 3, 8), s(8))),
            named("rmsNorm [8,256,256] (524,288 values)", new OpCase(rms, 0, s(8, 256, 256), s(256))),
            named("rmsNorm [4099,9], eps 0", new OpCase(in -> Norms.rmsNorm(in[0], in[1], 0), 0, s(4099, 9), s(9))),
            named("rmsNorm added into the residual's gradient", new OpCase(
                in -> Elementwise.add(Norms.rmsNorm(in[0], in[1], 1e-6), in[0]), 0, s(64, 640), s(640))),
            named("rmsNorm of channels 0..64 of a [8,1,256,80] latent (MLA's c_kv, rows 80 apart)", new OpCase(
                in -> Norms.rmsNorm(Shapes.narrow(in[0], 3, 0, 64), in[1], 1e-6), 0, s(8, 1, 256, 80), s(64))),
            named("rmsNorm of channels 0..32 of a [4,1,48,40] latent, its gradient added to another", new OpCase(
                in -> Elementwise.add(Norms.rmsNorm(Shapes.narrow(in[0], 3, 0, 32), in[1], 1e-6),
                    Shapes.narrow(in[0], 3, 0, 32)), 0, s(4, 1, 48, 40), s(32))),
            named("rmsNorm, the weight's gradient alone", new OpCase(
                in -> Norms.rmsNorm(in[0].detach(), in[1], 1e-5), 0, s(300, 128), s(128))),
            named("rope, rotate half, [2,3,4,6]", new OpCase(half, 0, s(2, 3, 4, 6))),
            named("rope, interleaved, [4,300,64]", new OpCase(in -> rope(in[0], RopeLayout.INTERLEAVED, 0), 0,
                s(4, 300, 64))),
            named("rope of a [8,256,4,32] projection as [8,4,256,32]", new OpCase(
                in -> rope(Shapes.transpose(in[0], 1, 2), RopeLayout.ROTATE_HALF, 0), 0, s(8, 256, 4, 32))),
            named("rope of channels 16..24 of a [4,48,4,24] projection (MLA's q_pe, a view at an offset)", new OpCase(
                in -> rope(Shapes.narrow(Shapes.transpose(in[0], 1, 2), 3, 16, 8), RopeLayout.ROTATE_HALF, 0), 0,
                s(4, 48, 4, 24))),
            named("rope of channels 64..80 of a [8,1,256,80] latent (MLA's k_pe), 32,768 values", new OpCase(
                in -> rope(Shapes.narrow(in[0], 3, 64, 16), RopeLayout.INTERLEAVED, 0), 0, s(8, 1, 256, 80))),
            named("rope, rank 5", new OpCase(half, 0, s(2, 3, 5, 40, 64))),
            named("swiglu [128,172]", new OpCase(swiglu, 0, s(128, 172), s(128, 172))),
            named("swiglu [8,256,688] (1,409,024 values)", new OpCase(swiglu, 0, s(8, 256, 688), s(8, 256, 688))),
            named("swiglu with the edge values as up", new OpCase(in -> Gating.swiglu(in[1], in[0]), 0, s(3, 50),
                s(3, 50))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void nativeEqualsTheJavaKernelsBitForBit(OpCase c) {
        Optional<String> skip = NativeRequirement.unavailable(NativeKernels.whyNot());
        assumeTrue(skip.isEmpty(), skip.orElse(""));
        Tensor[] in = c.inputs(31);
        KernelPaths.Run nativeRun = runNative(c.f(), in);
        KernelPaths.Run java = run(c.f(), Long.MAX_VALUE, in);
        assertEquals(c.otherOps(), nativeRun.forwardOps(), "ND4J ops in the native path's forward");
        assertSameBits("value", java.value(), nativeRun.value());
        for (int i = 0; i < java.grads().size(); i++) {
            assertSameBits("gradient of input " + i, java.grads().get(i), nativeRun.grads().get(i));
        }
    }

    /** Tables from a later position are views at an offset, which the Java kernels take as copies. */
    @Test
    void ropeWithTablesFromALaterPositionEqualsTheJavaKernels() {
        Optional<String> skip = NativeRequirement.unavailable(NativeKernels.whyNot());
        assumeTrue(skip.isEmpty(), skip.orElse(""));
        Tensor[] in = new OpCase(null, 0, s(2, 3, 40, 64)).inputs(8);
        KernelPaths.Run nativeRun = runNative(x -> rope(x[0], RopeLayout.INTERLEAVED, 7), in);
        KernelPaths.Run java = run(x -> rope(x[0], RopeLayout.INTERLEAVED, -7), Long.MAX_VALUE, in);
        assertSameBits("value", java.value(), nativeRun.value());
        assertSameBits("gradient", java.grads().get(0), nativeRun.grads().get(0));
    }

    @Test
    void onlyFloat32ArraysTheKernelsCanReadAreTaken() {
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 6, 8);
        INDArray table = Nd4j.rand(DataType.FLOAT, 6, 8);
        assertFalse(NativeNorm.fits(x.castTo(DataType.DOUBLE)), "float64");
        assertFalse(NativeGating.fits(x, x.permute(1, 0, 2)), "a permuted view");
        assertFalse(NativeRotary.fits(x, table.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 4)), table),
            "a table that is not dense");
        if (NativeKernels.enabled()) {
            assertTrue(NativeRotary.fits(x.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(2, 6)),
                table.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 4)).dup('c'),
                table.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 4)).dup('c')),
                "a slice of channels at an offset (MLA's q_pe)");
            assertTrue(NativeRotary.fits(x.permute(1, 0, 2).permute(1, 0, 2), table, table), "a permuted view at offset 0");
        }
    }

    /**
     * rope with fixed random tables of x's dtype: their rows from {@code start} of a longer table, or for a negative
     * start the same rows copied to arrays of their own.
     */
    private static Tensor rope(Tensor x, RopeLayout layout, long start) {
        long t = x.size(x.rank() - 2);
        long d = x.size(x.rank() - 1);
        long from = Math.abs(start);
        INDArray cos = KernelPaths.uniform(new SplittableRandom(5), x.dtype(), from + t, d)
            .get(NDArrayIndex.interval(from, from + t), NDArrayIndex.all());
        INDArray sin = KernelPaths.uniform(new SplittableRandom(6), x.dtype(), from + t, d)
            .get(NDArrayIndex.interval(from, from + t), NDArrayIndex.all());
        return start < 0 ? Rotary.rope(x, cos.dup('c'), sin.dup('c'), layout) : Rotary.rope(x, cos, sin, layout);
    }

    private static long[] s(long... shape) {
        return shape;
    }
}
