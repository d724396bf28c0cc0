// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Decides whether an op runs its Java kernel: every array float32 or float64 of one dtype, readable by {@link
 * Dense} (zero offset, laid out inside its buffer) and at most {@link #maxElements()} elements. Above that size
 * ND4J's multithreaded ops win over one Java thread; below it ND4J's fixed cost per op (op object, shape
 * descriptors, JNI, waking its threads) costs more than the arithmetic.
 *
 * <p>The limit is read from the system property {@code spindle.smallKernels.maxElements} (0 turns the Java
 * kernels off), and can be changed for a scope with {@link #limit(long)}.
 */
public final class SmallKernels {
    private SmallKernels() {}

    /** Elements per array up to which the Java kernels run, unless the system property says otherwise. */
    public static final long DEFAULT_MAX_ELEMENTS = 32_768;

    private static volatile long maxElements = Long.getLong("spindle.smallKernels.maxElements", DEFAULT_MAX_ELEMENTS);

    /** The current limit in elements per array; 0 means the Java kernels are off. */
    public static long maxElements() {
        return maxElements;
    }

    /** True when an op on these arrays (nulls skipped) should take its Java kernel. */
    public static boolean fit(INDArray... arrays) {
        long max = maxElements;
        DataType dtype = null;
        for (INDArray a : arrays) {
            if (a == null) {
                continue;
            }
            DataType t = a.dataType();
            if (t != DataType.FLOAT && t != DataType.DOUBLE || dtype != null && t != dtype) {
                return false;
            }
            dtype = t;
            if (a.length() > max || !Dense.readable(a)) {
                return false;
            }
        }
        return dtype != null;
    }

    /**
     * Sets the limit until the returned scope is closed, then restores the previous one; for tests and
     * measurements that compare the two paths. The limit is global: do not change it while other threads run ops.
     */
    public static Scope limit(long elements) {
        if (elements < 0) {
            throw new IllegalArgumentException("SmallKernels.limit: elements must be >= 0 but is " + elements);
        }
        long before = maxElements;
        maxElements = elements;
        return () -> maxElements = before;
    }

    /** A limit in force until closed. */
    @FunctionalInterface
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }
}
