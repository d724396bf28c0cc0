// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Broadcasting;
import spindle.autograd.Memory;
import spindle.autograd.Tensor;
import spindle.autograd.TensorFunction;
import spindle.autograd.kernels.NativeKernels;
import spindle.autograd.kernels.SmallKernels;
import spindle.testing.NativeRequirement;

/**
 * The glue ops' copies without ND4J ops: reshape of a strided float32 array (a transposed attention output) filled
 * natively, broadcast copies (expand, a broadcast operand) natively, a float32 add natively, and row gathers
 * (embedding, indexSelect along dim 0) in Java; each bitwise the ND4J path in value and gradients, with fewer ND4J
 * ops in the forward.
 */
class GlueOpsNativeTest {
    @Test
    void reshapeOfATransposeIsCopiedNativelyBitForBit() {
        requireNative();
        TensorFunction f = in -> Shapes.reshape(Shapes.transpose(in[0], 1, 2), 3, 5, 28);
        assertFewerOpsSameBits("reshape of a transpose", f, KernelPaths.input(1, DataType.FLOAT, 3, 4, 5, 7));
    }

    @Test
    void reshapeStillViewsWhereNd4jViews() {
        INDArray base = Nd4j.rand(DataType.FLOAT, 4, 6);
        INDArray narrowed = base.get(Shapes.window(2, 1, 0, 3));       // [4, 3] with row stride 6
        INDArray r = StridedCopy.reshape(narrowed, new long[] {4, 3, 1});
        assertTrue(Memory.sharesBuffer(r, base), "a view of base, as ND4J's reshape gives");
        assertSameValues("reshape view", narrowed.reshape('c', 4, 3, 1), r);
    }

    @Test
    void expandAndBroadcastCopiesAreNativeBitForBit() {
        requireNative();
        INDArray special = Nd4j.createFromArray(-0.0f, Float.NaN, Float.POSITIVE_INFINITY, -3.5f).reshape(1, 4, 1);
        for (long[] to : new long[][] {{3, 4, 5}, {2, 3, 4, 5}}) {
            INDArray nat = Broadcasting.expand(special, to);
            INDArray nd4j;
            try (SmallKernels.Scope off = NativeKernels.off()) {
                nd4j = Broadcasting.expand(special, to);
            }
            KernelPaths.assertSameBits("expand to " + java.util.Arrays.toString(to), nd4j, nat);
        }
        TensorFunction f = in -> Elementwise.mul(Shapes.expand(in[0], 3, 4, 2, 5), in[1]);
        assertFewerOpsSameBits("expand", f, KernelPaths.input(2, DataType.FLOAT, 4, 1, 5),
            KernelPaths.input(3, DataType.FLOAT, 3, 4, 2, 5));
    }

    @Test
    void addOfTransposedFloatsIsNativeBitForBit() {
        requireNative();
        TensorFunction f = in -> Elementwise.add(in[0], Shapes.transpose(in[1], 0, 1));
        assertFewerOpsSameBits("add", f, KernelPaths.input(4, DataType.FLOAT, 6, 9),
            KernelPaths.input(5, DataType.FLOAT, 9, 6));
    }

    @Test
    void rowGathersCopyInJavaBitForBit() {
        for (DataType t : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            Tensor ids = Tensor.of(Nd4j.createFromArray(new long[] {3, 0, 3, 7, 1, 2}).reshape(2, 3));
            Tensor flat = Tensor.of(Nd4j.createFromArray(new long[] {4, 4, 0, 6}));
            Tensor table = KernelPaths.input(6, t, 8, 5);
            KernelPaths.Run java = KernelPaths.run(in -> Indexing.embedding(in[0], ids), Long.MAX_VALUE, table);
            KernelPaths.Run nd4j = KernelPaths.run(in -> Indexing.embedding(in[0], ids), 0, table);
            assertEquals(0, java.forwardOps(), t + " embedding: ND4J ops of the Java gather");
            assertSameValues(t + " embedding", nd4j.value(), java.value());
            assertSameValues(t + " embedding gradient", nd4j.grads().get(0), java.grads().get(0));
            TensorFunction select = in -> Indexing.indexSelect(in[0], 0, flat);
            KernelPaths.Run javaSel = KernelPaths.run(select, Long.MAX_VALUE, KernelPaths.input(7, t, 7, 2, 3));
            KernelPaths.Run nd4jSel = KernelPaths.run(select, 0, KernelPaths.input(7, t, 7, 2, 3));
            assertTrue(javaSel.forwardOps() < nd4jSel.forwardOps(), t + " indexSelect: " + javaSel.forwardOps()
                + " ND4J ops, ND4J path " + nd4jSel.forwardOps());
            assertSameValues(t + " indexSelect", nd4jSel.value(), javaSel.value());
            assertSameValues(t + " indexSelect gradient", nd4jSel.grads().get(0), javaSel.grads().get(0));
        }
        INDArray source = Nd4j.rand(DataType.FLOAT, 4, 3);
        INDArray bad = Nd4j.createFromArray(new long[] {1, 4});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> RowGather.rows(source, bad, Nd4j.createUninitialized(DataType.FLOAT, 2, 3)));
        assertTrue(e.getMessage().contains("index 4"), e.getMessage());
    }

    @Test
    void largeRowGathersCopyInJavaWhileTheNativeKernelsAreOn() {
        requireNative();
        long[] pick = new long[300];
        for (int i = 0; i < pick.length; i++) {
            pick[i] = (i * 7L) % 200;
        }
        Tensor index = Tensor.of(Nd4j.createFromArray(pick));
        TensorFunction select = in -> Indexing.indexSelect(in[0], 0, index);   // 38,400 values: past the Java limit
        KernelPaths.Run nat = KernelPaths.runNative(select, KernelPaths.input(8, DataType.FLOAT, 200, 128));
        KernelPaths.Run nd4j = KernelPaths.run(select, 0, KernelPaths.input(8, DataType.FLOAT, 200, 128));
        assertEquals(0, nat.forwardOps(), "ND4J ops of a 38,400-value gather");
        assertSameValues("large indexSelect", nd4j.value(), nat.value());
    }

    private static void assertFewerOpsSameBits(String what, TensorFunction f, Tensor... in) {
        KernelPaths.Run nd4j = KernelPaths.run(f, 0, in);
        KernelPaths.Run nat = KernelPaths.runNative(f, in);
        assertTrue(nat.forwardOps() < nd4j.forwardOps(), what + ": the native forward runs " + nat.forwardOps()
            + " ND4J ops, ND4J's " + nd4j.forwardOps());
        KernelPaths.assertSameBits(what + " value", nd4j.value(), nat.value());
        for (int i = 0; i < in.length; i++) {
            KernelPaths.assertSameBits(what + " gradient " + i, nd4j.grads().get(i), nat.grads().get(i));
        }
    }

    /** Bit for bit (float32 values widen exactly; NaNs alike, -0 and 0 apart). */
    private static void assertSameValues(String what, INDArray expected, INDArray actual) {
        assertEquals(expected.dataType(), actual.dataType(), what + ": dtype");
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        assertArrayEquals(expected.dup('c').data().asDouble(), actual.dup('c').data().asDouble(), what);
    }

    private static void requireNative() {
        Optional<String> skip = NativeRequirement.unavailable(NativeKernels.whyNot());
        assumeTrue(skip.isEmpty(), skip.orElse(""));
    }
}
