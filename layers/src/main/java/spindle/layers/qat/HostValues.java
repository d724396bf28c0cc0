// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Memory;

/**
 * Moves the values of an array between ND4J's off-heap buffer and a Java array of the calling thread, in bulk
 * copies: a quantizer then walks the values in Java in one pass instead of a dozen native ops, each with its own
 * full-size temporary. The Java arrays are the thread's scratch, reused from call to call (valid until the thread's
 * next read), so a training step allocates none of them on the heap.
 */
final class HostValues {
    private static final ThreadLocal<HostValues> OF_THREAD = ThreadLocal.withInitial(HostValues::new);

    private double[] doubles = new double[0];
    private float[] floats = new float[0];

    private HostValues() {}

    /** The values of a float32 array in c order: the first {@code a.length()} entries of this thread's float[]. */
    static float[] readFloats(INDArray a) {
        HostValues h = OF_THREAD.get();
        int n = size(a);
        h.ensure(n);
        INDArray d = dense(a);
        d.data().asNioFloat().get(0, h.floats, 0, n);
        if (d != a) {
            Memory.release(d);
        }
        return h.floats;
    }

    /** The values of a float32 or float64 array in c order, as doubles in this thread's double[]. */
    static double[] readDoubles(INDArray a) {
        HostValues h = OF_THREAD.get();
        int n = size(a);
        h.ensure(n);
        if (a.dataType() == DataType.FLOAT) {
            float[] f = readFloats(a);
            for (int i = 0; i < n; i++) {
                h.doubles[i] = f[i];
            }
        } else {
            INDArray d = dense(a);
            d.data().asNioDouble().get(0, h.doubles, 0, n);
            if (d != a) {
                Memory.release(d);
            }
        }
        return h.doubles;
    }

    /** A new float32 c-order array of {@code shape} holding the first values of v. */
    static INDArray write(float[] v, long[] shape) {
        INDArray out = Nd4j.createUninitialized(DataType.FLOAT, shape, 'c');
        out.data().asNioFloat().put(0, v, 0, size(out));
        return out;
    }

    /** A new c-order array of {@code dtype} and {@code shape} holding the first values of v (exact in dtype). */
    static INDArray write(double[] v, DataType dtype, long[] shape) {
        if (dtype == DataType.FLOAT) {
            HostValues h = OF_THREAD.get();
            int n = (int) Shape.lengthOf(shape);
            h.ensure(n);
            for (int i = 0; i < n; i++) {
                h.floats[i] = (float) v[i];
            }
            return write(h.floats, shape);
        }
        INDArray out = Nd4j.createUninitialized(dtype, shape, 'c');
        out.data().asNioDouble().put(0, v, 0, size(out));
        return out;
    }

    private void ensure(int n) {
        if (floats.length < n) {
            doubles = new double[n];
            floats = new float[n];
        }
    }

    /** {@code a} itself when its buffer starts with exactly its values in c order, else a c-order copy. */
    private static INDArray dense(INDArray a) {
        boolean exact = a.ordering() == 'c' && Shape.hasDefaultStridesForShape(a) && a.offset() == 0
            && a.data().offset() == 0 && a.data().length() >= a.length();
        return exact ? a : a.dup('c');
    }

    private static int size(INDArray a) {
        if (a.length() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("fake quantization: an array of shape " + Arrays.toString(a.shape())
                + " has more elements than a Java array holds");
        }
        return (int) a.length();
    }
}
