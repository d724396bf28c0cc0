// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;

/**
 * Arrays small enough that a Java loop over a heap copy beats ND4J: each ND4J op costs about 50 us before it
 * touches an element, so an optimizer step over a small model's ~20 parameters (60 ops for 100k numbers) took
 * 5 ms, and the loop takes well under one. An array is read into a per-thread double[] slot, changed there and
 * written back; float32 arrays are widened on the way in and rounded once on the way out.
 */
final class SmallArrays {
    /** Above about this many elements ND4J wins: the loop (JIT C1) takes ~8 ns an element, an ND4J rule ~150 us. */
    static final int DEFAULT_MAX_ELEMENTS = 1 << 14;
    private static final int SLOTS = 5;

    private static volatile int maxElements = DEFAULT_MAX_ELEMENTS;
    private static final ThreadLocal<double[][]> SLOT = ThreadLocal.withInitial(() -> new double[SLOTS][]);
    private static final ThreadLocal<float[]> WIDEN = ThreadLocal.withInitial(() -> new float[0]);

    private SmallArrays() {}

    /**
     * Whether all of {@code arrays} (nulls are ignored) can take the Java loop: float32 or float64, all of one
     * dtype and length, each C-ordered over the whole of its buffer, at most the limit long.
     */
    static boolean fit(INDArray... arrays) {
        INDArray first = null;
        for (INDArray a : arrays) {
            if (a == null) {
                continue;
            }
            if (first == null) {
                first = a;
                DataType dt = a.dataType();
                if ((dt != DataType.FLOAT && dt != DataType.DOUBLE) || a.length() > maxElements) {
                    return false;
                }
            }
            if (a.dataType() != first.dataType() || a.length() != first.length() || !wholeBuffer(a)) {
                return false;
            }
        }
        return first != null;
    }

    /** C order with C strides from the buffer's start to its end: element i of the array is element i there. */
    private static boolean wholeBuffer(INDArray a) {
        return a.ordering() == 'c' && Shape.hasDefaultStridesForShape(a) && a.offset() == 0
            && a.data().length() == a.length();
    }

    /** The limit in elements; tests lower it to 0 to run the ND4J path and raise it to run the loop. */
    static void setMaxElements(int elements) {
        maxElements = elements;
    }

    static int maxElements() {
        return maxElements;
    }

    /** {@code a}'s elements in slot {@code slot} of this thread (valid until the slot is read into again). */
    static double[] read(INDArray a, int slot) {
        int n = (int) a.length();
        double[][] slots = SLOT.get();
        if (slots[slot] == null || slots[slot].length < n) {
            slots[slot] = new double[Math.max(n, 1024)];
        }
        double[] out = slots[slot];
        if (a.dataType() == DataType.DOUBLE) {
            a.data().asNioDouble().get(out, 0, n);
            return out;
        }
        float[] f = widenBuffer(n);
        a.data().asNioFloat().get(f, 0, n);
        for (int i = 0; i < n; i++) {
            out[i] = f[i];
        }
        return out;
    }

    /** Writes the first {@code a.length()} values of {@code values} into {@code a}, rounded to its dtype. */
    static void write(double[] values, INDArray a) {
        int n = (int) a.length();
        if (a.dataType() == DataType.DOUBLE) {
            a.data().asNioDouble().put(values, 0, n);
            return;
        }
        float[] f = widenBuffer(n);
        for (int i = 0; i < n; i++) {
            f[i] = (float) values[i];
        }
        a.data().asNioFloat().put(f, 0, n);
    }

    private static float[] widenBuffer(int n) {
        float[] f = WIDEN.get();
        if (f.length < n) {
            f = new float[Math.max(n, 1024)];
            WIDEN.set(f);
        }
        return f;
    }
}
