// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.kernels.NativeKernels;
import spindle.autograd.kernels.NativeStrided;

/**
 * Copies and sums of float32 arrays of any strides in one native pass (a transposed attention output, a permuted
 * gradient) where ND4J would run an op of its own, some 10-100 us each however small; the values are the same
 * (a copy, or the same float32 addition).
 */
final class StridedCopy {
    private StridedCopy() {}

    /**
     * a's elements in row-major order with shape {@code to}, as {@code a.reshape('c', to)}: ND4J's view when it can
     * make one, else for float32 a fresh array filled natively, else ND4J's copy.
     */
    static INDArray reshape(INDArray a, long[] to) {
        if (to.length == 0 || a.length() == 0 || NativeKernels.dense(a) || !NativeStrided.readable(a)) {
            return a.reshape('c', to);
        }
        INDArray view = Shape.newShapeNoCopy(a, to, false);
        if (view != null) {
            return view;
        }
        INDArray out = Nd4j.createUninitialized(a.dataType(), to);
        NativeStrided.copyInto(out, 0, Nd4j.getStrides(a.shape(), 'c'), a);
        return out;
    }

    /** True when {@link #sum} takes a and b: float32 of one shape, both readable natively. */
    static boolean sums(INDArray a, INDArray b) {
        return Arrays.equals(a.shape(), b.shape()) && a.rank() >= 1 && NativeStrided.readable(a)
            && NativeStrided.readable(b);
    }

    /** A fresh c-order a + b, for arrays {@link #sums} takes. */
    static INDArray sum(INDArray a, INDArray b) {
        INDArray out = Nd4j.createUninitialized(a.dataType(), a.shape());
        NativeStrided.copyInto(out, 0, out.stride(), a);
        NativeStrided.addInto(out, b, false);
        return out;
    }
}
