// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.autograd.Memory;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.Dense;
import spindle.autograd.kernels.NativeRotary;
import spindle.autograd.kernels.RotaryKernels;
import spindle.autograd.kernels.SmallKernels;

/**
 * Rotary position embedding as one fused node: y = x * cos + rotate(x) * sin, where rotate maps each
 * channel pair (a, b) to (-b, a). The tables are constants laid out per channel ([T, D], each pair's angle
 * written at both of its channels), so any table works, not only RoPE's.
 */
public final class Rotary {
    private Rotary() {}

    /**
     * x [..., T, D] with D even, cos and sin [T, D] of x's dtype. rotate is a linear map with
     * rotateᵀ = -rotate, so d/dx = g * cos - rotate(g * sin): the inverse rotation when cos² + sin² = 1.
     */
    public static Tensor rope(Tensor x, INDArray cos, INDArray sin, RopeLayout layout) {
        long[] xs = x.shape();
        check(xs, cos, "cos", x);
        check(xs, sin, "sin", x);
        if (layout == null) {
            throw new IllegalArgumentException("rope: layout is null");
        }
        long t = xs[xs.length - 2];
        long d = xs[xs.length - 1];
        long n = x.value().length() / (t * d);
        boolean half = layout == RopeLayout.ROTATE_HALF;
        if (NativeRotary.fits(x.value(), cos, sin)) {
            return nativeRope(x, cos, sin, half);
        }
        // An x the Java kernels cannot read in place (a slice of channels at an offset) is read through one copy.
        if (SmallKernels.fit(cos, sin) && x.value().length() <= SmallKernels.maxElements()) {
            return smallRope(x, cos, sin, half, (int) n, (int) t, (int) d);
        }
        INDArray cosRow = row(cos, t * d);
        INDArray sinRow = row(sin, t * d);
        INDArray x2 = x.value().reshape('c', n, t * d);
        INDArray y = x2.mul(cosRow);
        INDArray r = rotate(x2, n, t, d, layout);
        y.addi(r.muli(sinRow));
        Memory.release(r);
        INDArray[] saved = {cosRow, sinRow};
        return Tape.record("rope", y.reshape(xs), owned(saved, cos, sin), g -> {
            INDArray g2 = g.out().reshape('c', n, t * d);
            INDArray gs = g2.mul(sinRow);
            INDArray rs = rotate(gs, n, t, d, layout);
            Memory.release(gs);
            g.add(0, g2.mul(cosRow).subi(rs).reshape(xs));
            Memory.release(rs);
        }, x);
    }

    /**
     * rope in native code for float32 of any size, bitwise the Java kernels' values; x may be a permuted view, and
     * the gradient is laid out like x, as the Java kernels lay it out.
     */
    private static Tensor nativeRope(Tensor x, INDArray cos, INDArray sin, boolean half) {
        INDArray y = Nd4j.createUninitialized(DataType.FLOAT, x.shape());
        NativeRotary.apply(x.value(), cos, sin, half, false, y);
        return Tape.record("rope", y, g -> {
            INDArray go = NativeRotary.readable(g.out()) ? g.out() : g.out().dup('c');
            INDArray dx = Dense.emptyLike(x.value());
            NativeRotary.apply(go, cos, sin, half, true, dx);
            if (go != g.out()) {
                Memory.release(go);
            }
            g.add(0, dx);
        }, x);
    }

    /**
     * rope through its Java kernels on n blocks of [t, d]. The gradient is laid out like x, which is usually a
     * transposed view of a projection's output, so it flows back to that projection without a copy.
     */
    private static Tensor smallRope(Tensor x, INDArray cos, INDArray sin, boolean half, int n, int t, int d) {
        int len = n * t * d;
        double[] y = Dense.scratch(3, len);
        RotaryKernels.forward(Dense.read(x.value(), 0), Dense.read(cos, 1), Dense.read(sin, 2), n, t, d, half, y);
        return Tape.record("rope", Dense.array(y, x.dtype(), x.shape()), g -> {
            double[] dx = Dense.scratch(3, len);
            RotaryKernels.backward(Dense.read(g.out(), 0), Dense.read(cos, 1), Dense.read(sin, 2), n, t, d, half, dx);
            g.add(0, Dense.arrayLike(dx, x.value()));
        }, x);
    }

    /** A fresh [n, t*d] array holding rotate(a) for a [n, t*d]: each pair (a, b) becomes (-b, a). */
    private static INDArray rotate(INDArray a, long n, long t, long d, RopeLayout layout) {
        INDArray r = Nd4j.createUninitialized(a.dataType(), n, t * d);
        // View both as [n, t, 2, d/2] (halves) or [n, t*d/2, 2] (neighbours): the pair index is then one dim.
        long[] shape = layout == RopeLayout.ROTATE_HALF ? new long[] {n, t, 2, d / 2} : new long[] {n, t * d / 2, 2};
        INDArray av = a.reshape('c', shape);
        INDArray rv = r.reshape('c', shape);
        rv.get(member(shape.length, 2, 0)).assign(av.get(member(shape.length, 2, 1))).negi();
        rv.get(member(shape.length, 2, 1)).assign(av.get(member(shape.length, 2, 0)));
        return r;
    }

    private static INDArrayIndex[] member(int rank, int dim, long which) {
        INDArrayIndex[] idx = new INDArrayIndex[rank];
        Arrays.fill(idx, NDArrayIndex.all());
        idx[dim] = NDArrayIndex.point(which);
        return idx;
    }

    /** The table as a contiguous [1, t*d] row (a view when it already is one). */
    private static INDArray row(INDArray table, long length) {
        INDArray c = table.ordering() == 'c' && !table.isView() ? table : table.dup('c');
        return c.reshape(1, length);
    }

    /** The saved rows that are copies (freed with the graph); the callers' tables are never freed here. */
    private static INDArray[] owned(INDArray[] rows, INDArray cos, INDArray sin) {
        return Arrays.stream(rows).filter(r -> !Memory.sharesBuffer(r, cos) && !Memory.sharesBuffer(r, sin))
            .toArray(INDArray[]::new);
    }

    private static void check(long[] xs, INDArray table, String name, Tensor x) {
        if (xs.length < 2) {
            throw new IllegalArgumentException("rope: x has shape " + Arrays.toString(xs) + "; it needs [..., T, D]");
        }
        long t = xs[xs.length - 2];
        long d = xs[xs.length - 1];
        if (d % 2 != 0) {
            throw new IllegalArgumentException("rope: x has shape " + Arrays.toString(xs) + "; D (" + d
                + ") must be even, RoPE rotates channel pairs");
        }
        if (table == null || !Arrays.equals(table.shape(), new long[] {t, d})) {
            throw new IllegalArgumentException("rope: " + name + " has shape "
                + (table == null ? "null" : Arrays.toString(table.shape())) + " but x has shape "
                + Arrays.toString(xs) + "; " + name + " must be [T, D] = [" + t + ", " + d + "]");
        }
        if (table.dataType() != x.dtype()) {
            throw new IllegalArgumentException("rope: " + name + " is " + table.dataType() + " but x is " + x.dtype()
                + "; build the tables in the model's dtype");
        }
    }
}
