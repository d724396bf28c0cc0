// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Memory;

/**
 * Moves the values of float32 and float64 arrays between ND4J's off-heap buffers and Java double[] arrays, in c
 * order, with one bulk copy each way. The kernels compute in float64 whatever the arrays' dtype, so one kernel
 * serves both dtypes (float32 results are rounded once, at the end).
 *
 * <p>The double[] arrays come from per-thread scratch slots that are reused by the next op on the same thread:
 * a kernel reads its inputs into distinct slots, computes, and writes its results out before returning. Values a
 * backward needs later are kept in arrays of their own. The last slot (7) is {@link #addInto}'s.
 */
public final class Dense {
    private static final ThreadLocal<Dense> SCRATCH = ThreadLocal.withInitial(Dense::new);
    private static final int SLOTS = 8;

    private final double[][] slots = new double[SLOTS][];
    private double[] raw = new double[0];
    private float[] staging = new float[0];

    private Dense() {
        for (int i = 0; i < SLOTS; i++) {
            slots[i] = new double[0];
        }
    }

    /**
     * True when a's elements can be read straight from its buffer: zero offset, and either the default c-order
     * strides or (up to rank 4) non-negative strides that stay inside the buffer, as a permuted view has.
     */
    public static boolean readable(INDArray a) {
        if (a.wasClosed() || a.isEmpty() || a.length() > Integer.MAX_VALUE || a.offset() != 0 || a.data() == null) {
            return false;
        }
        if (contiguous(a)) {
            return true;
        }
        if (a.rank() > 4) {
            return false;
        }
        long reach = 0;
        for (int i = 0; i < a.rank(); i++) {
            if (a.stride(i) < 0) {
                return false;
            }
            reach += (a.size(i) - 1) * a.stride(i);
        }
        return reach < a.data().length() && reach < Integer.MAX_VALUE;
    }

    /** True when element i of a (in c order) is element i of its buffer. */
    public static boolean contiguous(INDArray a) {
        if (a.offset() != 0) {
            return false;
        }
        long expected = 1;
        for (int i = a.rank() - 1; i >= 0; i--) {
            long n = a.size(i);
            if (n != 1 && a.stride(i) != expected) {
                return false;
            }
            expected *= n;
        }
        return true;
    }

    /**
     * a's values in c order, in scratch slot {@code slot} of this thread (its first a.length() elements; valid
     * until the slot is used again). An array that is not {@link #readable} or not float32/float64 is copied
     * by ND4J first.
     */
    public static double[] read(INDArray a, int slot) {
        Dense s = SCRATCH.get();
        int n = (int) a.length();
        double[] out = s.slot(slot, n);
        DataType t = a.dataType();
        if (t != DataType.FLOAT && t != DataType.DOUBLE || !readable(a)) {
            INDArray copy = t == DataType.FLOAT || t == DataType.DOUBLE ? a.dup('c') : a.castTo(DataType.DOUBLE).dup('c');
            s.load(copy, out, n);
            Memory.release(copy);
        } else if (contiguous(a)) {
            s.load(a, out, n);
        } else {
            int reach = 1;
            for (int i = 0; i < a.rank(); i++) {
                reach += (int) ((a.size(i) - 1) * a.stride(i));
            }
            if (s.raw.length < reach) {
                s.raw = new double[reach];
            }
            s.load(a, s.raw, reach);
            walk(a, s.raw, out, false);
        }
        return out;
    }

    /** An integer array's values in c order, copied in bulk when it is a contiguous INT64 or INT32 array. */
    public static long[] longs(INDArray a) {
        long[] out = new long[(int) a.length()];
        if (contiguous(a) && a.dataType() == DataType.LONG) {
            a.data().asNioLong().get(0, out);
        } else if (contiguous(a) && a.dataType() == DataType.INT) {
            java.nio.IntBuffer b = a.data().asNioInt();
            for (int i = 0; i < out.length; i++) {
                out[i] = b.get(i);
            }
        } else {
            return a.reshape(a.length()).toLongVector();
        }
        return out;
    }

    /** Scratch slot {@code slot} of this thread with room for n values; its contents are left over. */
    public static double[] scratch(int slot, int n) {
        return SCRATCH.get().slot(slot, n);
    }

    /** A fresh c-order array of {@code shape} and {@code dtype} holding the first elements of {@code values}. */
    public static INDArray array(double[] values, DataType dtype, long... shape) {
        INDArray out = Nd4j.createUninitialized(dtype, shape);
        write(values, out);
        return out;
    }

    /**
     * A fresh array of like's shape and dtype holding {@code values} (c order), laid out as {@link #emptyLike} lays
     * it out: a gradient then flows back through a permute and a reshape without a copy.
     */
    public static INDArray arrayLike(double[] values, INDArray like) {
        INDArray out = emptyLike(like);
        if (contiguous(out)) {
            write(values, out);
            return out;
        }
        Dense s = SCRATCH.get();
        int n = (int) like.length();
        if (s.raw.length < n) {
            s.raw = new double[n];
        }
        walk(out, s.raw, values, true);
        store(s.raw, out, n);
        return out;
    }

    /**
     * A fresh uninitialized array of like's shape and dtype with like's strides when like is a permuted view of a
     * whole buffer (rank up to 4), else c-contiguous.
     */
    public static INDArray emptyLike(INDArray like) {
        int r = like.rank();
        if (contiguous(like) || r > 4 || like.offset() != 0 || like.length() != like.data().length()) {
            return Nd4j.createUninitialized(like.dataType(), like.shape());
        }
        Integer[] order = new Integer[r];   // like's dims from the largest stride to the smallest
        for (int i = 0; i < r; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (p, q) -> Long.compare(like.stride(q), like.stride(p)));
        long[] stored = new long[r];
        int[] back = new int[r];
        for (int i = 0; i < r; i++) {
            stored[i] = like.size(order[i]);
            back[order[i]] = i;
        }
        INDArray buffer = Nd4j.createUninitialized(like.dataType(), stored);
        INDArray view = buffer.permute(back);
        for (int i = 0; i < r; i++) {
            if (like.size(i) != 1 && view.stride(i) != like.stride(i)) {
                Memory.release(buffer);
                return Nd4j.createUninitialized(like.dataType(), like.shape());
            }
        }
        return view;
    }

    /**
     * Adds {@code part} (c order) into {@code grad}, an input's gradient so far ({@code zeros}: it holds nothing
     * yet); in Java when grad is a small contiguous float array, through ND4J otherwise. Used as a {@link
     * spindle.autograd.Grads.PartWriter}, it saves the ND4J add that summing a separate gradient would take.
     */
    public static void addInto(double[] part, INDArray grad, boolean zeros) {
        if (!SmallKernels.fit(grad) || !contiguous(grad)) {
            INDArray p = array(part, grad.dataType(), grad.shape());
            grad.addi(p);
            Memory.release(p);
            return;
        }
        if (zeros) {
            write(part, grad);
            return;
        }
        double[] sum = read(grad, SLOTS - 1);
        for (int i = 0; i < grad.length(); i++) {
            sum[i] += part[i];
        }
        write(sum, grad);
    }

    /** Writes the first a.length() values into a, which must be {@link #contiguous} and float32 or float64. */
    public static void write(double[] values, INDArray a) {
        if (!contiguous(a)) {
            throw new IllegalArgumentException("Dense.write: the array of shape " + java.util.Arrays.toString(a.shape())
                + " is not contiguous");
        }
        store(values, a, (int) a.length());
    }

    /** Writes the first n values into the first n elements of a's buffer, float32 or float64. */
    private static void store(double[] values, INDArray a, int n) {
        if (a.dataType() == DataType.DOUBLE) {
            a.data().asNioDouble().put(0, values, 0, n);
            return;
        }
        if (a.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("Dense.write: " + a.dataType() + " arrays are not supported");
        }
        float[] f = SCRATCH.get().staging(n);
        for (int i = 0; i < n; i++) {
            f[i] = (float) values[i];
        }
        a.data().asNioFloat().put(0, f, 0, n);
    }

    /** The first n elements of a's buffer, widened to double. */
    private void load(INDArray a, double[] dst, int n) {
        if (a.dataType() == DataType.DOUBLE) {
            a.data().asNioDouble().get(0, dst, 0, n);
            return;
        }
        float[] f = staging(n);
        a.data().asNioFloat().get(0, f, 0, n);
        for (int i = 0; i < n; i++) {
            dst[i] = f[i];
        }
    }

    /**
     * Copies between a's elements in c order and its buffer's values (offset 0, rank at most 4): into
     * {@code cOrder} when {@code toBuffer} is false, into {@code buffer} when it is true.
     */
    private static void walk(INDArray a, double[] buffer, double[] cOrder, boolean toBuffer) {
        int[] n = {1, 1, 1, 1};
        int[] st = {0, 0, 0, 0};
        int pad = 4 - a.rank();
        for (int i = 0; i < a.rank(); i++) {
            n[pad + i] = (int) a.size(i);
            st[pad + i] = (int) a.stride(i);
        }
        int k = 0;
        for (int i0 = 0; i0 < n[0]; i0++) {
            for (int i1 = 0; i1 < n[1]; i1++) {
                for (int i2 = 0; i2 < n[2]; i2++) {
                    int base = i0 * st[0] + i1 * st[1] + i2 * st[2];
                    for (int i3 = 0; i3 < n[3]; i3++, k++) {
                        if (toBuffer) {
                            buffer[base + i3 * st[3]] = cOrder[k];
                        } else {
                            cOrder[k] = buffer[base + i3 * st[3]];
                        }
                    }
                }
            }
        }
    }

    private double[] slot(int slot, int n) {
        if (slots[slot].length < n) {
            slots[slot] = new double[n];
        }
        return slots[slot];
    }

    private float[] staging(int n) {
        if (staging.length < n) {
            staging = new float[n];
        }
        return staging;
    }
}
