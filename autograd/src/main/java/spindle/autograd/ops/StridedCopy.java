// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.kernels.NativeKernels;
import spindle.autograd.kernels.NativeStrided;

/**
 * Reshapes of float32 arrays ND4J cannot view (a transposed attention output, a permuted gradient) filled in one
 * native pass where ND4J would run a copy op of its own, some 10-100 us however small; the values are the same.
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
}
